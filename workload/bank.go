package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Meta.Options keys under which a bank run records its accounts and total,
// so that the bank checker can judge a saved history on its own.
const (
	OptBankAccounts = "bank.accounts" // account names, comma-separated
	OptBankTotal    = "bank.total"    // the total, in decimal
)

// BankOption changes a Bank generator's defaults.
type BankOption func(*bankConfig)

type bankConfig struct {
	maxTransfer  int64
	readFraction float64
}

// WithMaxTransfer sets the largest amount a transfer moves (default 5).
// Amounts are uniform in [1, n].
func WithMaxTransfer(n int64) BankOption {
	return func(c *bankConfig) { c.maxTransfer = n }
}

// WithBalanceReads sets the fraction of operations that read every
// balance rather than transfer (default 0.5).
func WithBalanceReads(fraction float64) BankOption {
	return func(c *bankConfig) { c.readFraction = fraction }
}

// Bank generates Jepsen's bank workload: transfers of random amounts
// between two distinct random accounts, and reads of every balance in one
// transaction. A correct database conserves the total in every read and
// never shows a negative balance, so the client must fail a transfer that
// would overdraw its From account rather than perform it.
//
// Accounts are named "0", "1", … so that SQL clients can use them as
// integer ids.
type Bank struct {
	accounts []string
	total    int64
	cfg      bankConfig
}

// NewBank returns a bank generator over accounts accounts holding total
// between them, or an error naming every argument or option out of range.
func NewBank(accounts int, total int64, opts ...BankOption) (*Bank, error) {
	cfg := bankConfig{maxTransfer: 5, readFraction: 0.5}
	for _, o := range opts {
		o(&cfg)
	}
	var errs []error
	if accounts < 2 {
		errs = append(errs, fmt.Errorf("accounts: %d, need at least 2 to transfer between", accounts))
	}
	if total < 0 {
		errs = append(errs, fmt.Errorf("total: %d is negative", total))
	}
	if cfg.maxTransfer < 1 {
		errs = append(errs, fmt.Errorf("max_transfer: %d, must be at least 1", cfg.maxTransfer))
	}
	if cfg.readFraction < 0 || cfg.readFraction > 1 {
		errs = append(errs, fmt.Errorf("read_fraction: %g is not between 0 and 1", cfg.readFraction))
	}
	if err := joinErrs("bank", errs); err != nil {
		return nil, err
	}
	b := &Bank{accounts: make([]string, accounts), total: total, cfg: cfg}
	for i := range b.accounts {
		b.accounts[i] = BankAccount(i)
	}
	return b, nil
}

// BankAccount names account i.
func BankAccount(i int) string { return strconv.Itoa(i) }

// Name implements Generator.
func (b *Bank) Name() string { return "bank" }

// Accounts returns the account names in order.
func (b *Bank) Accounts() []string { return append([]string(nil), b.accounts...) }

// Total returns the amount the accounts hold between them.
func (b *Bank) Total() int64 { return b.total }

// InitialBalances returns the balances the client creates its table with:
// the total divided evenly, the remainder going one unit each to the
// first accounts (10 over 3 accounts is 4, 3, 3).
func (b *Bank) InitialBalances() map[string]int64 {
	n := int64(len(b.accounts))
	m := make(map[string]int64, n)
	for i, a := range b.accounts {
		m[a] = b.total / n
		if int64(i) < b.total%n {
			m[a]++
		}
	}
	return m
}

// Options returns the Meta.Options entries that let the bank checker judge
// the history later (OptBankAccounts, OptBankTotal).
func (b *Bank) Options() map[string]string {
	return map[string]string{
		OptBankAccounts: strings.Join(b.accounts, ","),
		OptBankTotal:    strconv.FormatInt(b.total, 10),
	}
}

// Next implements Generator.
func (b *Bank) Next(r *rand.Rand, process int) Op {
	if r.Float64() < b.cfg.readFraction {
		return Op{F: FBalances}
	}
	from := r.IntN(len(b.accounts))
	to := r.IntN(len(b.accounts) - 1)
	if to >= from {
		to++ // distinct from From, uniform over the rest
	}
	return Op{F: FTransfer, Transfer: &Transfer{
		From:   b.accounts[from],
		To:     b.accounts[to],
		Amount: 1 + r.Int64N(b.cfg.maxTransfer),
	}}
}

// Final implements Generator: one read of every balance.
func (b *Bank) Final() []Op { return []Op{{F: FBalances}} }

// BankFromOptions recovers the accounts and total a bank run recorded in
// its Meta.Options.
func BankFromOptions(opts map[string]string) (accounts []string, total int64, err error) {
	as, ok := opts[OptBankAccounts]
	if !ok || as == "" {
		return nil, 0, fmt.Errorf("bank: option %s is missing", OptBankAccounts)
	}
	ts, ok := opts[OptBankTotal]
	if !ok {
		return nil, 0, fmt.Errorf("bank: option %s is missing", OptBankTotal)
	}
	total, err = strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("bank: option %s: %w", OptBankTotal, err)
	}
	accounts = strings.Split(as, ",")
	seen := make(map[string]bool, len(accounts))
	for _, a := range accounts {
		if a == "" || seen[a] {
			return nil, 0, errors.New("bank: option " + OptBankAccounts + " has an empty or repeated account")
		}
		seen[a] = true
	}
	return accounts, total, nil
}
