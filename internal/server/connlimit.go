package server

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/inference-relay/relay/internal/audit"
	"github.com/inference-relay/relay/internal/measure"
)

// ConnLimits caps the connections a listener keeps open at once.
type ConnLimits struct {
	// Max is the cap for the whole process (all listeners sharing one
	// ConnGate); 0 means no cap.
	Max int
	// PerUID caps the connections of one local user, found from the
	// peer's socket; 0 means no per-user cap. Connections whose peer's
	// user cannot be told (not loopback) count only against Max.
	PerUID int
	// PeerUID finds the uid owning the other end of an accepted
	// connection; nil: measure.PeerUID.
	PeerUID func(local, remote netip.AddrPort) (uint32, error)
	// Refused is told of each connection refused (nil: nobody).
	Refused func(audit.RefusalReason)
}

// ConnGate counts open connections against [ConnLimits]. One gate is
// shared by every listener of a process.
type ConnGate struct {
	lim    ConnLimits
	mu     sync.Mutex
	total  int
	perUID map[uint32]int
	// lingering bounds the goroutines that close refused connections
	// gracefully; beyond it they are closed at once.
	lingering chan struct{}
}

// NewConnGate returns a gate enforcing lim.
func NewConnGate(lim ConnLimits) *ConnGate {
	if lim.PeerUID == nil {
		lim.PeerUID = measure.PeerUID
	}
	return &ConnGate{lim: lim, perUID: map[uint32]int{}, lingering: make(chan struct{}, 64)}
}

// Open reports the connections open now, in all and for uid.
func (g *ConnGate) Open(uid uint32) (total, forUID int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total, g.perUID[uid]
}

// Listener wraps l so that every connection it accepts is counted, and one
// beyond a cap is answered 503 and closed before any of its bytes are read.
// plain must be false for a listener whose connections speak TLS: those
// are closed without a reply, since an HTTP reply needs the handshake
// first.
func (g *ConnGate) Listener(l net.Listener, plain bool) net.Listener {
	return &gatedListener{Listener: l, g: g, plain: plain}
}

type gatedListener struct {
	net.Listener
	g     *ConnGate
	plain bool
}

func (l *gatedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc, reason, ok := l.g.admit(c); ok {
			return gc, nil
		} else {
			if l.g.lim.Refused != nil {
				l.g.lim.Refused(reason)
			}
			l.g.refuse(c, reason, l.plain)
		}
	}
}

// admit counts c in, or says which cap it is beyond.
func (g *ConnGate) admit(c net.Conn) (net.Conn, audit.RefusalReason, bool) {
	uid, known := uint32(0), false
	if g.lim.PerUID > 0 {
		uid, known = g.peerUID(c)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lim.Max > 0 && g.total >= g.lim.Max {
		return nil, audit.RefusedConnLimit, false
	}
	if known && g.perUID[uid] >= g.lim.PerUID {
		return nil, audit.RefusedUIDLimit, false
	}
	g.total++
	if known {
		g.perUID[uid]++
	}
	return &gatedConn{Conn: c, g: g, uid: uid, known: known}, 0, true
}

func (g *ConnGate) peerUID(c net.Conn) (uint32, bool) {
	la, ok1 := c.LocalAddr().(*net.TCPAddr)
	ra, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || !ra.IP.IsLoopback() {
		return 0, false
	}
	uid, err := g.lim.PeerUID(la.AddrPort(), ra.AddrPort())
	return uid, err == nil
}

func (g *ConnGate) release(uid uint32, known bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if known {
		if g.perUID[uid]--; g.perUID[uid] <= 0 {
			delete(g.perUID, uid)
		}
	}
}

// refusedBody is the 503's body: the relay's own words, in no API's shape
// (nothing of the request was read, so its API is unknown).
func refusedBody(reason audit.RefusalReason) string {
	msg := "the relay has too many open connections; retry later"
	if reason == audit.RefusedUIDLimit {
		msg = "too many open connections from this user; close some and retry (server.max_connections_per_uid)"
	}
	return `{"error":{"type":"overloaded","reason":"` + reason.String() + `","message":"` + msg + `"}}`
}

// refuse answers a connection beyond a cap with 503 and closes it. The
// request is never read. To make the reply reach a client that already
// sent its request (closing a socket with unread input sends a reset, which
// can destroy the reply in flight), the write side is shut first and the
// input discarded for up to a second, by at most 64 goroutines at a time.
func (g *ConnGate) refuse(c net.Conn, reason audit.RefusalReason, plain bool) {
	if !plain {
		c.Close()
		return
	}
	body := refusedBody(reason)
	resp := fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s", len(body), body)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(resp)); err != nil {
		c.Close()
		return
	}
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		c.Close()
		return
	}
	select {
	case g.lingering <- struct{}{}:
	default:
		c.Close()
		return
	}
	_ = cw.CloseWrite()
	go func() {
		defer func() { <-g.lingering }()
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var buf [4096]byte
		for n := 0; n < 64<<10; {
			m, err := c.Read(buf[:])
			n += m
			if err != nil {
				return
			}
		}
	}()
}

// gatedConn gives its slot back once, on the first Close.
type gatedConn struct {
	net.Conn
	g     *ConnGate
	uid   uint32
	known bool
	once  sync.Once
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.g.release(c.uid, c.known) })
	return err
}
