//go:build !linux

package supervisor

import "context"

// Run returns ErrUnsupported: the supervisor needs Linux process groups,
// subreapers and /proc, and runs only in Linux containers.
func Run(ctx context.Context, cfg Config) (int, error) {
	return 1, ErrUnsupported
}
