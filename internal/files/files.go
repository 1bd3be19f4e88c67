// Package files copies files for the parts of faultline that lay out
// programs and trees on disk (a node's binaries, image roots, a module
// source copy).
package files

import (
	"fmt"
	"io"
	"os"
)

// Copy copies the file src to dst with permissions mode (before the
// umask), replacing dst's contents if it exists.
func Copy(src, dst string, mode os.FileMode) error {
	return copyFile(src, dst, os.O_TRUNC, mode)
}

// CopyNew copies the file src to a new file dst with permissions mode
// (before the umask); it fails if dst exists.
func CopyNew(src, dst string, mode os.FileMode) error {
	return copyFile(src, dst, os.O_EXCL, mode)
}

func copyFile(src, dst string, flag int, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|flag, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}
