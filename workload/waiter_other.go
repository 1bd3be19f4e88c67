//go:build !unix

package workload

import "errors"

// poll is not available: the caller goes on as if fd were ready.
func poll(int, bool, int) (bool, error) { return true, errors.ErrUnsupported }
