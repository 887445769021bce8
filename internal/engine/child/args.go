package child

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// FD is the descriptor on which the relay hands the engine child its
// socket.
const FD = 3

// ErrUsage means the process was not started the way the relay starts
// the engine: with --lib-dir and its socket on descriptor FD.
var ErrUsage = errors.New("engine: internal command: the relay starts it with --lib-dir and its socket as descriptor 3; it is not meant to be run by hand")

// RunArgs is `relay engine`: it reads the flags the relay passes
// (--lib-dir DIR, and --check-confinement for relay doctor), checks that descriptor FD is a socket, and runs the
// child on it. Test binaries that stand in for the relay binary as the
// engine child call it from TestMain. o.LibDir is taken from the flags.
func RunArgs(args []string, o Options) error {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	libDir := fs.String("lib-dir", "", "directory of the verified llama.cpp libraries")
	check := fs.Bool("check-confinement", false, "report the confinement and load nothing (relay doctor)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w (%v)", ErrUsage, err)
	}
	if *libDir == "" || fs.NArg() != 0 {
		return ErrUsage
	}
	var st unix.Stat_t
	if err := unix.Fstat(FD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return ErrUsage
	}
	o.LibDir = *libDir
	o.CheckOnly = o.CheckOnly || *check
	// Temporary files (the loader's symlinks) go to the private working
	// directory the relay gave this child, the one place it may write.
	if wd, err := os.Getwd(); err == nil {
		_ = os.Setenv("TMPDIR", wd)
	}
	return Run(os.NewFile(FD, "relay-engine-socket"), o)
}
