package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/chaosmesh"
	"github.com/faultline-dev/faultline/faults/kubeapi"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/scenarios"
)

// checkerDocs describes every checker, for `faultline list checkers`.
var checkerDocs = [][2]string{
	{"linearizable", "register workload: porcupine, per key, with a time limit (unknown past it); illegal keys get porcupine's visualization"},
	{"rpo", "register and ledger workloads: acknowledged ledger inserts missing after recovery, per fault, with the time window they span"},
	{"rto", "every workload: per fault, time to the first acknowledged write after which writes keep succeeding; longest write gap; time back to 90% throughput"},
	{"bank", "bank workload: every read conserves the total, shows every account and no negative balance"},
	{"list-append", "append workload: Elle's anomalies (G0, G1a/b/c, G-single, G2-item, real-time and process variants, lost update…) and the strongest isolation level the history is consistent with"},
	{"stats", "every workload: throughput and p50/p99 latency before, during and after each fault"},
	{"budget", "every workload: throughput and p99 latency over the load against the scenario's budgets"},
}

func newListCmd() *cobra.Command {
	var env envFlags
	cmd := &cobra.Command{
		Use:       "list engines|faults|workloads|checkers|offerings|scenarios",
		Short:     "List what faultline knows: engines, faults, workloads, checkers, managed offerings, built-in scenarios",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"engines", "faults", "workloads", "checkers", "offerings", "scenarios"},
		RunE: func(cmd *cobra.Command, args []string) error {
			e, cleanup, err := env.build(cmd.Context())
			if err != nil {
				return inputError(err)
			}
			defer cleanup()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			defer tw.Flush()
			switch args[0] {
			case "engines":
				listEngines(tw, e.Engines)
			case "faults":
				listFaults(tw, e)
			case "workloads":
				listWorkloads(tw, e)
			case "checkers":
				fmt.Fprintln(tw, "CHECKER\tWHAT IT JUDGES")
				for _, c := range checkerDocs {
					fmt.Fprintf(tw, "%s\t%s\n", c[0], c[1])
				}
			case "offerings":
				fmt.Fprintln(tw, "OFFERING\tKIND\tSTANDS IN FOR\tCLOUDS\tTITLE")
				for _, o := range cost.Offerings() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.Kind, orAll(o.Families), orAll(o.Clouds), o.Title)
				}
			case "scenarios":
				entries, err := scenarios.Catalog()
				if err != nil {
					return err
				}
				fmt.Fprintln(tw, "SCENARIO\tDESCRIPTION")
				for _, s := range entries {
					fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
				}
			default:
				return inputError(fmt.Errorf("unknown list %q (want engines, faults, workloads, checkers, offerings or scenarios)", excerpt.Value(args[0])))
			}
			return nil
		},
	}
	return cmd
}

// listFaults writes every fault kind and, per platform, the injector that
// carries it there (faults[].via picks another), then why the others
// cannot, then what some kinds need of a cluster (faults.Conditioned),
// then what each injector does for each kind.
func listFaults(w io.Writer, e scenarios.Env) {
	injectors := e.Injectors
	if len(injectors) == 0 {
		injectors = faults.Injectors{faults.Native}
	}
	header := "FAULT"
	for _, p := range e.Platforms {
		header += "\t" + strings.ToUpper(p.Name())
	}
	fmt.Fprintln(w, header+"\tDESCRIPTION")
	var why []string
	for _, k := range faults.Kinds() {
		line := k.Name
		for _, p := range e.Platforms {
			in, err := injectors.For(p, k.Name, "")
			if err != nil {
				line += "\t-"
				why = append(why, fmt.Sprintf("%s on %s: %v", k.Name, p.Name(), err))
				continue
			}
			cell := injectorName(p, in)
			for _, other := range injectors {
				if other != in && slices.Contains(other.Kinds(), k.Name) && other.CanInject(p, k.Name) == nil {
					cell += "|" + injectorName(p, other)
				}
			}
			line += "\t" + cell
		}
		fmt.Fprintf(w, "%s\t%s\n", line, k.Description)
	}
	fmt.Fprintln(w, "\nTargets: leader, follower, leader-zone, node:N, nodes:A,B, zone:Z, region:R, minority, majority, random, all")
	fmt.Fprintln(w, "The first injector is the default; a fault's via: picks another (platform is the platform's own: docker, process; "+strings.Join(injectors.Names()[1:], ", ")+").")
	for _, p := range e.Platforms {
		if fp, ok := p.(platform.FaultPermission); ok {
			if err := fp.PermitFaults(); err != nil {
				fmt.Fprintf(w, "On %s: %v.\n", p.Name(), err)
			}
		}
	}
	if len(why) > 0 {
		fmt.Fprintln(w, "\nNOT AVAILABLE\tWHY")
		for _, l := range why {
			k, rest, _ := strings.Cut(l, ": ")
			fmt.Fprintf(w, "%s\t%s\n", k, rest)
		}
	}
	var conds []string
	for _, in := range injectors {
		c, ok := in.(faults.Conditioned)
		if !ok {
			continue
		}
		for _, k := range in.Kinds() {
			if cond := c.Condition(k); cond != "" {
				conds = append(conds, fmt.Sprintf("%s via %s\t%s", k, in.Name(), cond))
			}
		}
	}
	if len(conds) > 0 {
		fmt.Fprintln(w, "\nONLY WHERE\tCONDITION (checked before the load; refused with the reason otherwise)")
		for _, l := range conds {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintln(w, "\nINJECTOR\tFAULT\tHOW")
	for _, in := range injectors {
		if in.Name() == faults.ViaPlatform {
			fmt.Fprintf(w, "%s\t%s\t%s\n", in.Name(), "node and network kinds",
				"the platform's own: docker kill/stop/pause of kind's node containers or signals to local processes; iptables and tc (or faultline's packet delayer) in the nodes' network namespaces")
			continue
		}
		for _, k := range in.Kinds() {
			how := ""
			switch in.Name() {
			case faults.ViaChaosMesh:
				how = chaosmesh.How(k)
			case faults.ViaKubernetes:
				how = kubeapi.How(k)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", in.Name(), k, how)
		}
	}
}

// injectorName names an injector in the listing: the platform's own
// mechanism by its word (docker, process).
func injectorName(p platform.Platform, in faults.Injector) string {
	if in.Name() == faults.ViaPlatform {
		return nativeName(p)
	}
	return in.Name()
}

// nativeName names a platform's own mechanism.
func nativeName(p platform.Platform) string {
	if m, ok := p.(platform.MechanismNamer); ok {
		return m.FaultMechanism()
	}
	return faults.ViaPlatform
}

func listEngines(w io.Writer, set engines.Set) {
	fmt.Fprintln(w, "ENGINE\tPROTOCOL\tVERSION\tOPTIONS")
	for _, name := range set.Names() {
		e, _ := set.Lookup(name)
		version, opts := "", map[string]string{}
		if d, ok := e.(engines.Defaults); ok {
			version, opts = d.DefaultVersion(), d.Options()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, e.Protocol(), version, optionLines(opts, "\t\t\t"))
	}
}

func listWorkloads(w io.Writer, e scenarios.Env) {
	fmt.Fprintln(w, "PROTOCOL\tWORKLOADS\tCLIENT OPTIONS (workload.options)")
	for _, name := range slices.Sorted(maps.Keys(e.Protocols)) {
		p := e.Protocols[name]
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, strings.Join(p.Workloads, ", "), optionLines(p.Options, "\t\t"))
	}
}

// optionLines renders "name: description" lines, continued under a
// tabwriter column by prefix.
func optionLines(opts map[string]string, prefix string) string {
	if len(opts) == 0 {
		return "-"
	}
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		lines = append(lines, k+": "+opts[k])
	}
	return strings.Join(lines, "\n"+prefix)
}

func orAll(s []string) string {
	if len(s) == 0 {
		return "any"
	}
	return strings.Join(s, ",")
}
