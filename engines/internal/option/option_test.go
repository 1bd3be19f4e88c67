package option

import (
	"errors"
	"strings"
	"testing"
)

type config struct {
	Mode string
	On   bool
}

func table() Table[config] {
	return Table[config]{
		"mode": {Doc: "how", Default: "a", Set: func(c *config, v string) error { c.Mode = v; return OneOf(v, "a", "b") }},
		"on": {Doc: "whether", Default: "false", Set: func(c *config, v string) (err error) {
			c.On, err = Bool(v)
			return err
		}},
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    map[string]string
		want    config
		wantErr []string
	}{
		{name: "none", want: config{}},
		{name: "both, trimmed", opts: map[string]string{"mode": " b ", "on": "true"}, want: config{Mode: "b", On: true}},
		{name: "every problem, in name order", opts: map[string]string{"on": "yes", "mode": "c", "colour": "red"},
			wantErr: []string{
				"engine.options.colour: unknown option (known: mode, on)",
				`engine.options.mode: "c" is not one of a, b`,
				`engine.options.on: "yes" is not true or false`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c config
			errs := table().Parse(&c, tc.opts)
			if got := errors.Join(errs...); tc.wantErr == nil && got != nil || tc.wantErr != nil && (got == nil || got.Error() != strings.Join(tc.wantErr, "\n")) {
				t.Fatalf("errors:\n%v\nwant:\n%s", got, strings.Join(tc.wantErr, "\n"))
			}
			if tc.wantErr == nil && c != tc.want {
				t.Errorf("config %+v, want %+v", c, tc.want)
			}
		})
	}
}

func TestDocs(t *testing.T) {
	d := table().Docs()
	if d["mode"] != "how (default a)" || d["on"] != "whether (default false)" || len(d) != 2 {
		t.Errorf("Docs = %v", d)
	}
}
