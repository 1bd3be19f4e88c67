package files

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		copy    func(src, dst string, mode os.FileMode) error
		existed bool
		want    string
		wantErr error
	}{
		{name: "Copy to a new file", copy: Copy, want: "new"},
		{name: "Copy over a longer file", copy: Copy, existed: true, want: "new"},
		{name: "CopyNew to a new file", copy: CopyNew, want: "new"},
		{name: "CopyNew over a file", copy: CopyNew, existed: true, want: "older contents", wantErr: fs.ErrExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst")
			if tc.existed {
				if err := os.WriteFile(dst, []byte("older contents"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := tc.copy(src, dst, 0o755)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			b, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("dst holds %q, want %q", b, tc.want)
			}
			if fi, _ := os.Stat(dst); !tc.existed && fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("dst mode %v, want executable", fi.Mode())
			}
		})
	}
	if err := Copy(filepath.Join(dir, "missing"), filepath.Join(dir, "x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copy of a missing file: %v, want not exist", err)
	}
}
