// compose-check loads a compose file with compose-go, the loader `docker compose` itself uses,
// the way `docker compose config` does: schema validation, interpolation from the environment
// and .env, normalization, resolved paths and the consistency checks (unknown networks,
// volumes, depends_on targets…). It prints the loaded model as JSON, or nothing with -q, and
// exits 1 with the loader's error if the file is rejected. No Docker engine is needed.
//
//	compose-check [-f FILE]… [--project-directory DIR] [--profile NAME]… [-q]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, profiles list
	var dir string
	var quiet bool
	flags := flag.NewFlagSet("compose-check", flag.ContinueOnError)
	flags.Var(&files, "f", "compose file (repeatable; default: compose.yaml, docker-compose.yml… found from the current folder up)")
	flags.StringVar(&dir, "project-directory", "", "project folder (default: the first file's folder)")
	flags.Var(&profiles, "profile", "profile to enable (repeatable; '*' enables all)")
	flags.BoolVar(&quiet, "q", false, "only validate: print nothing on success")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: compose-check [-f FILE]… [--project-directory DIR] [--profile NAME]… [-q]\n"+
			"Loads compose files as `docker compose config` does (compose-go) and prints the model as JSON.")
		flags.PrintDefaults()
	}
	if err := flags.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "compose-check: unexpected argument %q\n", flags.Arg(0))
		os.Exit(2)
	}
	out, err := load(files, dir, profiles, quiet)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

func load(files []string, dir string, profiles []string, quiet bool) ([]byte, error) {
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(dir),
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithDefaultProfiles(profiles...),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return nil, err
	}
	if quiet {
		return nil, nil
	}
	b, err := project.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
