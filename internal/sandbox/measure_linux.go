package sandbox

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// MeasureChild reads pid's confinement from the kernel now.
func MeasureChild(pid int) Confinement {
	c := Confinement{Pid: pid, MeasuredAt: time.Now().UTC()}
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/status")
	if err != nil {
		c.Errors = append(c.Errors, "status: "+errText(err))
	} else {
		c.parseStatus(string(b))
	}
	for _, ns := range []struct {
		name string
		own  *bool
	}{{"net", &c.OwnNetNS}, {"user", &c.OwnUserNS}} {
		mine, err1 := os.Readlink("/proc/self/ns/" + ns.name)
		theirs, err2 := os.Readlink(dir + "/ns/" + ns.name)
		if err1 != nil || err2 != nil {
			c.Errors = append(c.Errors, "ns/"+ns.name+": unreadable")
			continue
		}
		*ns.own = mine != theirs
	}
	if b, err := os.ReadFile(dir + "/uid_map"); err == nil {
		c.UIDMap = strings.Join(strings.Fields(string(b)), " ")
	}
	if b, err := os.ReadFile(dir + "/gid_map"); err == nil {
		c.GIDMap = strings.Join(strings.Fields(string(b)), " ")
	}
	return c
}

// errText is an error's short cause, without the path.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
