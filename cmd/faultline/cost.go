package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/workload"
)

// costFlags are the options of `faultline cost`.
type costFlags struct {
	run, reference, target, cloud, region, survive, commitment, engine string
	catalogs, offerings                                                []string
	json                                                               bool
	seed                                                               int64
	samples                                                            int
	settle                                                             time.Duration
}

// defaultRegions are the regions the built-in catalog prices each cloud in.
func defaultRegion(cloud string) string {
	switch cloud {
	case cost.GCP:
		return "us-central1"
	case cost.Azure:
		return "eastus"
	}
	return "us-east-1"
}

func newCostCmd() *cobra.Command {
	var f costFlags
	cmd := &cobra.Command{
		Use:   "cost (--run RUN_DIR | --reference seed)",
		Short: "Price what a run used at a target workload, self-hosted and managed",
		Long: `Turn the resources an engine used during a run into a monthly cost at a
target workload: self-hosted on the cloud's managed Kubernetes, and on the
managed offerings that can stand in for it. Each resource is fitted against
the throughput the run achieved (one point per load step), extrapolated to
the target with prediction intervals, and priced from the built-in catalog
(or --catalog files laid over it). P10/P50/P90 come from Monte Carlo draws
over the fits; few samples give wide intervals.

--reference seed recomputes the project's seed document from the catalog and
explains every difference over 20%.`,
		Example: `  faultline cost --run runs/etcd-kill-leader --target qps=10000,data=100GiB --cloud aws --survive zone
  faultline cost --run runs/pg-steps --cloud gcp --survive region --commitment 1y --json
  faultline cost --reference seed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCost(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.run, "run", "", "run directory (or its history.jsonl) to price")
	fl.StringVar(&f.reference, "reference", "", "recompute a reference document instead of a run ("+strings.Join(cost.References(), ", ")+")")
	fl.StringVar(&f.target, "target", "qps=10000,data=100GiB", "target workload: "+strings.Join(cost.TargetKeys(), ", ")+" (e.g. qps=10000,data=100GiB,reads=0.8,row=1KiB,egress=50GB)")
	fl.StringVar(&f.cloud, "cloud", cost.AWS, "cloud to price on: aws, gcp, azure")
	fl.StringVar(&f.region, "region", "", "region (default: the region the catalog prices the cloud in)")
	fl.StringVar(&f.survive, "survive", cost.ZoneSurvival, "failure to survive: none (one zone), zone, region")
	fl.StringVar(&f.commitment, "commitment", cost.NoCommitment, "compute commitment: none, 1y, 3y")
	fl.StringVar(&f.engine, "engine", "", "price as this engine instead of the one the run measured")
	fl.StringSliceVar(&f.offerings, "offerings", nil, "offerings to price, by id (default: every offering for the engine's family on the cloud)")
	fl.StringSliceVar(&f.catalogs, "catalog", nil, "price catalog file(s) laid over the built-in one")
	fl.BoolVar(&f.json, "json", false, "print the estimate as JSON")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the Monte Carlo draws")
	fl.IntVar(&f.samples, "samples", 500, "Monte Carlo draws")
	fl.DurationVar(&f.settle, "settle", 2*time.Second, "time left out at the start of each load step")
	cmd.AddCommand(newCostCatalogCmd())
	return cmd
}

// validate checks the flags before anything is read, reporting every
// problem at once, each naming its flag.
func (f costFlags) validate() (cost.Target, error) {
	var errs []error
	switch {
	case f.run == "" && f.reference == "":
		errs = append(errs, errors.New("--run or --reference: give one (a run directory, or --reference seed)"))
	case f.run != "" && f.reference != "":
		errs = append(errs, errors.New("--run and --reference: give only one"))
	}
	if f.reference != "" && !slices.Contains(cost.References(), f.reference) {
		errs = append(errs, fmt.Errorf("--reference: unknown document %q (want %s)", excerpt.Value(f.reference), strings.Join(cost.References(), ", ")))
	}
	t, err := cost.ParseTarget(f.target)
	if err != nil {
		errs = append(errs, fmt.Errorf("--target: %w", err))
	}
	if !slices.Contains([]string{cost.AWS, cost.GCP, cost.Azure}, f.cloud) {
		errs = append(errs, fmt.Errorf("--cloud: %q is not one of aws, gcp, azure", excerpt.Value(f.cloud)))
	}
	if !slices.Contains(cost.SurvivalLevels(), f.survive) {
		errs = append(errs, fmt.Errorf("--survive: %q is not one of none, zone, region", excerpt.Value(f.survive)))
	}
	if !slices.Contains([]string{cost.NoCommitment, cost.OneYear, cost.ThreeYears}, f.commitment) {
		errs = append(errs, fmt.Errorf("--commitment: %q is not one of none, 1y, 3y", excerpt.Value(f.commitment)))
	}
	if f.engine != "" {
		if _, err := cost.LookupEngine(f.engine); err != nil {
			errs = append(errs, fmt.Errorf("--engine: %w", err))
		}
	}
	var ids []string
	for _, o := range cost.Offerings() {
		ids = append(ids, o.ID)
	}
	for _, o := range f.offerings {
		if !slices.Contains(ids, o) {
			errs = append(errs, fmt.Errorf("--offerings: unknown offering %q (want %s)", excerpt.Value(o), strings.Join(ids, ", ")))
		}
	}
	if f.samples < 1 {
		errs = append(errs, fmt.Errorf("--samples: %d must be at least 1", f.samples))
	}
	if f.settle < 0 {
		errs = append(errs, fmt.Errorf("--settle: %v is negative", f.settle))
	}
	return t, errors.Join(errs...)
}

func runCost(cmd *cobra.Command, f costFlags) error {
	t, err := f.validate()
	if err != nil {
		return inputError(err)
	}
	cat, err := cost.Load(f.catalogs...)
	if err != nil {
		return inputError(fmt.Errorf("--catalog: %w", err))
	}
	out := cmd.OutOrStdout()
	if f.reference != "" {
		ref, err := cost.SeedReference(cat, f.cloud)
		if err != nil {
			return inputError(fmt.Errorf("--catalog: %w", err))
		}
		if f.json {
			return writeJSON(out, ref)
		}
		return cost.WriteReferenceText(out, ref)
	}
	h, err := readRunHistory(f.run)
	if err != nil {
		return inputError(fmt.Errorf("--run: %w", err))
	}
	p, err := cost.ProfileFromHistory(h, cost.ProfileOptions{Settle: f.settle})
	if err != nil {
		return inputError(fmt.Errorf("--run %s: %w", f.run, err))
	}
	if p.Run == "" {
		p.Run = filepath.Base(filepath.Clean(f.run))
	}
	est, err := cost.Compute(cat, p, cost.Options{
		Target: t, Cloud: f.cloud, Survive: f.survive, Commitment: f.commitment,
		Engine: f.engine, Offerings: f.offerings, Samples: f.samples, Seed: f.seed,
	})
	if err != nil {
		return inputError(err)
	}
	if region := f.region; region != "" && region != defaultRegion(f.cloud) {
		est.Notes = append(est.Notes, fmt.Sprintf("the catalog prices %s in %s: %s is priced at those rates", f.cloud, defaultRegion(f.cloud), region))
	}
	if f.json {
		return writeJSON(out, est)
	}
	return cost.WriteText(out, est)
}

// readRunHistory reads a run directory's history (history.jsonl or
// history.jsonl.gz), or a history file
// named directly.
func readRunHistory(path string) (*workload.History, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		if path, err = workload.FindHistory(path); err != nil {
			return nil, err
		}
	}
	return workload.ReadFile(path)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newCostCatalogCmd() *cobra.Command {
	var (
		files    []string
		asJSON   bool
		provider string
	)
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Print the price catalog with dates and sources, warning about prices older than a year",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := cost.Load(files...)
			if err != nil {
				return inputError(fmt.Errorf("--catalog: %w", err))
			}
			var prices []cost.Price
			for _, p := range cat.All() {
				if provider == "" || p.Provider == provider {
					prices = append(prices, p)
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), prices)
			}
			return writeCatalog(cmd.OutOrStdout(), cmd.ErrOrStderr(), cat, prices, time.Now())
		},
	}
	cmd.Flags().StringSliceVar(&files, "catalog", nil, "price catalog file(s) laid over the built-in one")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the entries as JSON")
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider's entries (aws, gcp, azure, cockroach, neon, planetscale, labor, faultline)")
	return cmd
}

// writeCatalog prints the entries as a table and warns, on errw, about
// those whose effective date is more than a year before now.
func writeCatalog(w, errw io.Writer, cat *cost.Catalog, prices []cost.Price, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRICE\tUNIT\tPURCHASE\tREGION\tEFFECTIVE\tCONFIDENCE\tSOURCE")
	for _, p := range prices {
		fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Price, p.Unit, p.Purchase, p.Region, p.Effective, p.Confidence, p.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d entries from %s.\n", len(prices), strings.Join(cat.Sources, ", "))
	var stale []string
	for _, p := range cat.Stale(now, 365*24*time.Hour) {
		if slices.ContainsFunc(prices, func(q cost.Price) bool { return q.ID == p.ID }) {
			stale = append(stale, fmt.Sprintf("%s (%s)", p.ID, p.Effective))
		}
	}
	if len(stale) > 0 {
		fmt.Fprintf(errw, "warning: %d prices are older than a year; check them before relying on them:\n", len(stale))
		for _, s := range stale {
			fmt.Fprintf(errw, "  %s\n", s)
		}
	}
	return nil
}
