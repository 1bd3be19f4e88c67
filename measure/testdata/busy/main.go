// Command busy is the program of the container the Docker stats test
// starts: it burns some CPU, writes a file through to the disk and then
// waits to be stopped.
package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	// Burn a fixed amount of CPU time, however busy the machine is.
	for cpu := time.Duration(0); cpu < 300*time.Millisecond; {
		for n := 0; n < 1e6; n++ {
			_ = n * n
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	f, err := os.Create("/data.bin")
	if err != nil {
		os.Exit(1)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		f.Write(buf)
	}
	f.Sync()
	f.Close()
	os.WriteFile("/done", nil, 0o644)
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, os.Interrupt)
	<-c
}
