package cost

import (
	"fmt"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: "qps=10000,data=100GiB", want: Target{QPS: 10000, DataBytes: 100 << 30, ReadFraction: -1, RowBytes: 1024}},
		{in: " qps = 2_500 , data=1.5TB, reads=0.9, row=64B, egress=50GB ", want: Target{QPS: 2500, DataBytes: 1.5e12, ReadFraction: 0.9, RowBytes: 64, EgressBytes: 50e9}},
		{in: "", want: DefaultTarget()},
		{in: "qsp=10000", wantErr: `unknown key "qsp" (want qps, data, reads, row, egress)`},
		{in: "qps=-3,data=lots,reads=2", wantErr: `qps: -3 must be positive; data: "lots" is not a size (like 100GiB); reads: 2 is not a fraction between 0 and 1`},
		{in: "data=10PB", wantErr: `data: "10PB": unknown unit "PB" (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)`},
		{in: "qps", wantErr: `"qps": want key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func ExampleParseTarget() {
	t, err := ParseTarget("qps=10000,data=100GiB,reads=0.8")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t)
	fmt.Printf("%.0f ops/s over %.0f GB\n", t.QPS, t.DataBytes/1e9)
	// Output:
	// qps=10000,data=100GiB,reads=0.8,row=1KiB
	// 10000 ops/s over 107 GB
}
