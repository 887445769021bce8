package session

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inference-relay/relay/internal/content"
)

// The reaper loop under the synctest fake clock: idle sessions go at the
// first tick past IdleTimeout, used ones stay, and Run stops with its
// context.
func TestRunReapsIdleSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t, Limits{IdleTimeout: 10 * time.Minute}, nil) // time.Now is the bubble's clock
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx, time.Minute); close(done) }()

		turn(t, s, "idle", nil, say(content.RoleAssistant, "1"))
		turn(t, s, "used", nil, say(content.RoleAssistant, "2"))
		sn := snap(t, s, "idle")

		for range 9 {
			time.Sleep(time.Minute)
			synctest.Wait()
			turn(t, s, "used", nil, say(content.RoleAssistant, "keepalive"))
		}
		if sessionOf(s, "idle") == nil {
			t.Fatal("reaped after 9 minutes idle")
		}
		time.Sleep(time.Minute + time.Second) // the 10-minute tick has run
		synctest.Wait()
		if sessionOf(s, "idle") != nil {
			t.Fatal("not reaped after 10 minutes idle")
		}
		sn.checkWiped(t)
		if sessionOf(s, "used") == nil {
			t.Fatal("a session used every minute was reaped")
		}
		if st := s.Stats(); st.Wipes.Idle != 1 {
			t.Fatalf("idle wipes %d, want 1", st.Wipes.Idle)
		}

		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run did not return after cancel")
		}
	})
}
