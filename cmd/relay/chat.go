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
	if fs.NArg() != 0 {
		return usageErr("chat: unexpected argument")
	}
	cfg, _, err := cf.load()
	if err != nil {
		return err
	}
	if exe, err := os.Executable(); err == nil {
		cfg.EngineBinary = exe // the embedded engine runs as `relay engine`
	}
	r, err := relay.New(cfg)
	if errors.Is(err, chain.ErrLocked) {
		return &exitError{code: 1, msg: "another relay process (a running 'relay serve'?) holds the audit file; stop it, or give this chat its own state with --state-dir"}
	}
	if err != nil {
		return err
	}
	defer r.Close()
	if *model == "" {
		ms := r.Models()
		if len(ms) == 0 {
			return &exitError{code: 1, msg: "no model available; run 'relay doctor' to see how to add a backend"}
		}
		*model = ms[0]
	}
	fmt.Fprintf(stderr, "chatting with %s — empty line or Ctrl-D to quit, /reset to forget the conversation\n", *model)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var history []relay.Message
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
			history = nil
			continue
		}
		history = append(history, relay.Message{Role: "user", Content: line})
		reply, err := streamTurn(ctx, r, relay.Request{Model: *model, System: *system, Messages: history, MaxTokens: *maxTokens}, stdout)
		if err != nil {
			history = history[:len(history)-1]
			fmt.Fprintln(stderr, "error:", err)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		history = append(history, relay.Message{Role: "assistant", Content: reply})
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
