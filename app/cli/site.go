package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"minebrain/app/site"
)

// runSite is `minebrain site check FILE`: the validation serve and desktop do at start, on its
// own, for an integrator editing the file.
func runSite(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "Usage: minebrain site check FILE")
		fmt.Fprintln(stderr, "\nValidates a site file (docs/site-file.md) and lists every problem with its file, line and field.")
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	if len(args) != 2 {
		fmt.Fprintln(stderr, "minebrain site check: want exactly one FILE")
		return exitUsage
	}
	s, err := site.Load(args[1])
	if err != nil {
		var siteErr *site.Error
		if errors.As(err, &siteErr) {
			fmt.Fprintf(stderr, "%v\n%s: %d problem(s)\n", err, args[1], len(siteErr.Problems))
			return exitError
		}
		return failed(stderr, "site check", err)
	}
	fmt.Fprintf(stdout, "%s: site %q, %d connection(s):\n", args[1], s.Name, len(s.Connections))
	for _, c := range s.Connections {
		fmt.Fprintf(stdout, "  %s  %s  %s/%s  %s; %d browse rule(s), %d node(s)\n",
			c.Name, c.Endpoint, c.Security.Policy, c.Security.Mode, login(c.Auth), len(c.Browse), len(c.Nodes))
	}
	fmt.Fprintf(stdout, "  %d alarm(s), %d setpoint limit(s), %d interlock(s)\n",
		len(s.Alarms), len(s.Control.Setpoints), len(s.Control.Interlocks))
	// Tags no connection reads are warnings, not errors: the file is valid, but an alarm on
	// such a tag never raises and an interlock on one always refuses.
	for _, w := range s.UnreadTags() {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	return exitOK
}

func login(a site.Auth) string {
	switch {
	case a.Username != "":
		return "user " + a.Username
	case a.Certificate != "":
		return "user certificate"
	}
	return "anonymous"
}
