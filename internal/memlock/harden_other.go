//go:build !linux

package memlock

// Harden applies every protection with the default [Options].
func Harden() Report { return HardenWith(Options{}) }

// HardenWith applies nothing outside Linux and says so: the report never
// claims a protection this build cannot confirm.
func HardenWith(o Options) Report {
	return Report{
		Dumpable: Protection{Name: "dumpable", Err: ErrUnsupported},
		Core:     Protection{Name: "core", Err: ErrUnsupported},
		Mlockall: Protection{Name: "mlockall", Err: ErrUnsupported},
	}
}
