// Command echo answers every TCP connection on :7000 with "faultline\n";
// the dockerd test runs it in a container and dials it from the host.
package main

import "net"

func main() {
	l, err := net.Listen("tcp", ":7000")
	if err != nil {
		panic(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		c.Write([]byte("faultline\n"))
		c.Close()
	}
}
