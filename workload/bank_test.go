package workload

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNewBankValidates(t *testing.T) {
	tests := []struct {
		name     string
		accounts int
		total    int64
		opts     []BankOption
		want     []string
	}{
		{name: "ok", accounts: 5, total: 100},
		{name: "one account", accounts: 1, total: 100, want: []string{"accounts: 1"}},
		{name: "negative total", accounts: 3, total: -1, want: []string{"total: -1"}},
		{name: "every problem", accounts: 0, total: 10,
			opts: []BankOption{WithMaxTransfer(0), WithBalanceReads(2)},
			want: []string{"accounts: 0", "max_transfer: 0", "read_fraction: 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBank(tt.accounts, tt.total, tt.opts...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("NewBank: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewBank accepted bad input, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestBankInitialBalances(t *testing.T) {
	tests := []struct {
		accounts int
		total    int64
		want     []int64
	}{
		{accounts: 3, total: 10, want: []int64{4, 3, 3}},
		{accounts: 4, total: 100, want: []int64{25, 25, 25, 25}},
		{accounts: 5, total: 3, want: []int64{1, 1, 1, 0, 0}},
		{accounts: 2, total: 0, want: []int64{0, 0}},
	}
	for _, tt := range tests {
		b, err := NewBank(tt.accounts, tt.total)
		if err != nil {
			t.Fatal(err)
		}
		got := b.InitialBalances()
		var sum int64
		for i, w := range tt.want {
			if got[BankAccount(i)] != w {
				t.Errorf("%d over %d: account %d has %d, want %d", tt.total, tt.accounts, i, got[BankAccount(i)], w)
			}
			sum += got[BankAccount(i)]
		}
		if sum != tt.total || len(got) != tt.accounts {
			t.Errorf("%d over %d: %d accounts summing to %d", tt.total, tt.accounts, len(got), sum)
		}
	}
}

func TestBankNext(t *testing.T) {
	b, err := NewBank(3, 30, WithMaxTransfer(7), WithBalanceReads(0.25))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	reads := 0
	pairs := map[[2]string]bool{}
	for i := 0; i < 4000; i++ {
		op := b.Next(r, 0)
		switch op.F {
		case FBalances:
			reads++
		case FTransfer:
			tr := op.Transfer
			if tr.From == tr.To {
				t.Fatalf("transfer from %s to itself", tr.From)
			}
			if tr.Amount < 1 || tr.Amount > 7 {
				t.Fatalf("amount %d outside 1..7", tr.Amount)
			}
			pairs[[2]string{tr.From, tr.To}] = true
		default:
			t.Fatalf("unexpected F %q", op.F)
		}
	}
	if reads < 800 || reads > 1200 {
		t.Errorf("%d reads of 4000, want about a quarter", reads)
	}
	if len(pairs) != 6 {
		t.Errorf("saw %d ordered account pairs, want all 6", len(pairs))
	}
	if f := b.Final(); len(f) != 1 || f[0].F != FBalances {
		t.Errorf("Final() = %v, want one balances read", f)
	}
}

func TestBankFromOptions(t *testing.T) {
	b, err := NewBank(4, 1000)
	if err != nil {
		t.Fatal(err)
	}
	accts, total, err := BankFromOptions(b.Options())
	if err != nil {
		t.Fatal(err)
	}
	if total != 1000 || strings.Join(accts, ",") != "0,1,2,3" {
		t.Errorf("BankFromOptions = %v, %d", accts, total)
	}
	bad := []map[string]string{
		{},
		{OptBankAccounts: "0,1"},
		{OptBankAccounts: "0,1", OptBankTotal: "ten"},
		{OptBankAccounts: "0,0", OptBankTotal: "10"},
	}
	for _, o := range bad {
		if _, _, err := BankFromOptions(o); err == nil {
			t.Errorf("BankFromOptions(%v) accepted bad options", o)
		}
	}
}
