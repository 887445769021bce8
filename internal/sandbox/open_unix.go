//go:build unix

package sandbox

import (
	"os"
	"syscall"
)

// openRegular opens path for reading without blocking: a FIFO planted at
// the path must not hang Start. HashFile then refuses anything that is not
// a regular file.
func openRegular(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
