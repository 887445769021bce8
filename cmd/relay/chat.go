package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/audit/chain"
)

func cmdChat(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay chat", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	model := fs.String("model", "", "model to chat with (default: the first one 'relay models' lists)")
	system := fs.String("system", "", "system prompt")
	maxTokens := fs.Int("max-tokens", 1024, "cap on each reply's length in tokens")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *maxTokens < 1 {
		return usageErr("chat: --max-tokens must be at least 1")
	}
	oneShot := strings.TrimSpace(strings.Join(fs.Args(), " "))
	cfg, _, err := cf.load()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// The server running for this state directory, if any: the chat is
	// one of its sessions, kept in its RAM and ended when the chat ends.
	srv, err := findServer(cfg.StateDir)
	if err != nil {
		return err
	}
	if srv != nil {
		return remoteChat(ctx, srv, *model, *system, *maxTokens, oneShot, stdin, stdout, stderr)
	}

	if exe, err := os.Executable(); err == nil {
		cfg.EngineBinary = exe // the embedded engine runs as `relay engine`
	}
	r, err := relay.New(cfg)
	if errors.Is(err, chain.ErrLocked) {
		return &exitError{code: 1, msg: "another relay process holds this state directory's audit file, but it is not a server this chat can use (no discovery file); stop it, or give this chat its own --state-dir"}
	}
	if err != nil {
		return err
	}
	defer r.Close()
	if *model == "" {
		ms := r.Models()
		if len(ms) == 0 {
			return &exitError{code: 1, msg: "no model available: no relay server runs for " + cfg.StateDir + " and this process found no backend; start one with 'relay serve' (it serves a demo model when nothing else is found), or see 'relay doctor'"}
		}
		*model = ms[0]
	}
	turn := func(history []relay.Message) (string, error) {
		return streamTurn(ctx, r, relay.Request{Model: *model, System: *system, Messages: history, MaxTokens: *maxTokens}, stdout)
	}
	if oneShot != "" {
		_, err := turn([]relay.Message{{Role: "user", Content: oneShot}})
		return err
	}
	fmt.Fprintf(stderr, "no relay server runs for %s: chatting through a relay in this process\n", cfg.StateDir)
	fmt.Fprintf(stderr, "chatting with %s — empty line or Ctrl-D to quit, /reset to forget the conversation\n", *model)
	var history []relay.Message
	return readTurns(ctx, stdin, stderr, func(line string) error {
		history = append(history, relay.Message{Role: "user", Content: line})
		reply, err := turn(history)
		if err != nil {
			history = history[:len(history)-1]
			return err
		}
		history = append(history, relay.Message{Role: "assistant", Content: reply})
		return nil
	}, func() { history = nil })
}

// remoteChat chats through the running server: one RAM session for the
// whole chat, ended when it ends (also on Ctrl-C).
func remoteChat(ctx context.Context, srv *remote, model, system string, maxTokens int, oneShot string, stdin io.Reader, stdout, stderr io.Writer) error {
	if model == "" {
		ms, err := srv.models(ctx)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return &exitError{code: 1, msg: "the relay server serves no model; see 'relay doctor'"}
		}
		model = ms[0]
	}
	if oneShot != "" {
		_, err := srv.chatTurn(ctx, "", model, system, oneShot, maxTokens, stdout)
		io.WriteString(stdout, "\n")
		return err
	}
	session := newSessionID()
	first := true
	defer func() {
		// End the session even after Ctrl-C: a context of its own.
		ectx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !first {
			_ = srv.endSession(ectx, session)
		}
	}()
	fmt.Fprintf(stderr, "chatting with %s through the relay server (pid %d) — empty line or Ctrl-D to quit, /reset to forget the conversation\n", model, srv.info.PID)
	return readTurns(ctx, stdin, stderr, func(line string) error {
		sys := ""
		if first {
			sys = system // once: the session keeps it
		}
		_, err := srv.chatTurn(ctx, session, model, sys, line, maxTokens, stdout)
		io.WriteString(stdout, "\n")
		if err == nil {
			first = false
		}
		return err
	}, func() {
		ectx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !first {
			_ = srv.endSession(ectx, session)
		}
		session, first = newSessionID(), true
	})
}

// readTurns reads the user's lines and hands each to turn, until an empty
// line, /exit, /quit, end of input or ctx's end; /reset calls reset.
func readTurns(ctx context.Context, stdin io.Reader, stderr io.Writer, turn func(string) error, reset func()) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		fmt.Fprint(stderr, "> ")
		if !in.Scan() {
			fmt.Fprintln(stderr)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		switch line {
		case "", "/exit", "/quit":
			return nil
		case "/reset":
			reset()
			continue
		}
		if err := turn(line); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// streamTurn prints the reply's tokens as they arrive and returns the whole
// reply.
func streamTurn(ctx context.Context, r *relay.Client, req relay.Request, stdout io.Writer) (string, error) {
	s, err := r.Stream(ctx, req)
	if err != nil {
		return "", err
	}
	defer s.Close()
	var b strings.Builder
	for s.Next() {
		b.WriteString(s.Text())
		io.WriteString(stdout, s.Text())
	}
	io.WriteString(stdout, "\n")
	return b.String(), s.Err()
}
