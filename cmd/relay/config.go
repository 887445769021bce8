package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/inference-relay/relay"
	"github.com/inference-relay/relay/internal/config"
)

// configFlags are the flags every command that builds a relay shares.
type configFlags struct {
	path     string
	stateDir string
	listen   multiFlag
	routes   multiFlag
	noDetect bool
	nonLoop  bool
	models   multiFlag
}

func (c *configFlags) register(fs *flag.FlagSet, serving bool) {
	fs.StringVar(&c.path, "config", "", "config file (TOML); default $RELAY_CONFIG or the user config dir's inference-relay/relay.toml when present")
	fs.StringVar(&c.stateDir, "state-dir", "", "state directory (API key hashes); default $RELAY_STATE_DIR or ~/.local/state/inference-relay")
	fs.Var(&c.routes, "route", "map model names to a backend: GLOB=BACKEND/MODEL (repeatable)")
	fs.BoolVar(&c.noDetect, "no-detect", false, "do not probe the usual local engine ports")
	if serving {
		fs.Var(&c.listen, "listen", "listen address (repeatable); default 127.0.0.1:8377 and [::1]:8377")
		fs.BoolVar(&c.nonLoop, "allow-non-loopback", false, "allow non-loopback listen addresses (TLS and API keys are then required)")
		fs.Var(&c.models, "model", "serve a GGUF file through the embedded engine: PATH or NAME=PATH (repeatable; the name defaults to the file's)")
	}
}

// load reads the config file (explicit path must exist; the default path is
// read only if present) and applies the flags over it. It returns the path
// read, or "" for embedded defaults.
func (c *configFlags) load() (relay.Config, string, error) {
	var cfg relay.Config
	path := c.path
	if path == "" {
		if p := config.DefaultPath(); p != "" {
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path != "" {
		var err error
		if cfg, err = relay.LoadConfig(path); err != nil {
			return cfg, path, err
		}
	}
	if c.stateDir != "" {
		cfg.StateDir = c.stateDir
	}
	if len(c.listen) > 0 {
		cfg.Listen = c.listen
	}
	if c.nonLoop {
		cfg.AllowNonLoopback = true
	}
	if c.noDetect {
		off := false
		cfg.Autodetect = &off
	}
	for _, m := range c.models {
		name, path, ok := strings.Cut(m, "=")
		if !ok {
			path = m
			name = strings.TrimSuffix(filepath.Base(m), filepath.Ext(m))
		}
		if name == "" || path == "" {
			return cfg, "", usageErr("--model %q: want PATH or NAME=PATH", m)
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		cfg.Models = append(cfg.Models, config.Model{Name: name, Path: path})
	}
	for _, r := range c.routes {
		match, target, ok := strings.Cut(r, "=")
		if !ok || match == "" || target == "" {
			return cfg, path, usageErr("--route %q: want GLOB=BACKEND/MODEL", r)
		}
		cfg.Routes = append(cfg.Routes, relay.Route{Match: match, Target: target})
	}
	cfg.Defaults()
	return cfg, path, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// parse parses flags, printing errors and usage to stderr.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	return nil
}

// parseSubcommand parses a command of the form `relay CMD [flags] SUB
// [flags] [args]`: flags may come before or after the subcommand, and
// the config is loaded only once all of them are known. It returns the
// subcommand and the loaded config; fs.Args() are then SUB's arguments.
func parseSubcommand(fs *flag.FlagSet, cf *configFlags, cmd string, args []string, stderr io.Writer) (string, relay.Config, error) {
	if err := parse(fs, args, stderr); err != nil {
		return "", relay.Config{}, err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return "", relay.Config{}, usageErr("%s: a subcommand is required", cmd)
	}
	if err := parse(fs, rest[1:], stderr); err != nil {
		return "", relay.Config{}, err
	}
	cfg, _, err := cf.load()
	return rest[0], cfg, err
}
