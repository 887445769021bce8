package measure

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

const sampleStatus = `Name:	relay
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
PPid:	1
TracerPid:	31337
Uid:	1000	1000	1000	1000
VmPeak:	 1234568 kB
VmLck:	     128 kB
VmPin:	       0 kB
`

func TestParseStatus(t *testing.T) {
	if n, err := parseVmLck(sampleStatus); err != nil || n != 128*1024 {
		t.Errorf("VmLck = %d, %v; want 131072", n, err)
	}
	if n, err := parseTracerPID(sampleStatus); err != nil || n != 31337 {
		t.Errorf("TracerPid = %d, %v; want 31337", n, err)
	}
	for _, bad := range []string{"", "Name:\trelay\n", "VmLck:\tlots kB\nTracerPid:\tnone\n", "VmLck:\t12 MB\nTracerPid:\t-3\n"} {
		if _, err := parseVmLck(bad); err == nil {
			t.Errorf("parseVmLck(%q) succeeded", bad)
		}
		if _, err := parseTracerPID(bad); err == nil {
			t.Errorf("parseTracerPID(%q) succeeded", bad)
		}
	}
	// A field name must match whole, not as a prefix.
	if _, err := parseTracerPID("TracerPidX:\t5\n"); err == nil {
		t.Error("matched a longer field name")
	}
}

func TestFactJSON(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	for _, tc := range []struct {
		v    any
		want string
	}{
		{Fact[bool]{Value: false, ReadAt: at}, `{"value":false,"read_at":"2026-05-06T07:08:09.00000001Z"}`},
		{Fact[Limit]{Value: Limit{Soft: 0, Hard: Unlimited}, ReadAt: at}, `{"value":{"hard":"unlimited","soft":0},"read_at":"2026-05-06T07:08:09.00000001Z"}`},
		{Fact[int]{ReadAt: at, Err: errors.ErrUnsupported}, `{"read_at":"2026-05-06T07:08:09.00000001Z","error":"unsupported operation"}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("got %s (%v), want %s", b, err, tc.want)
		}
	}
}
