package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"minebrain/app/pki"
)

// pkiDirName is the PKI directory's name inside the data directory.
const pkiDirName = "pki"

// pkiCommand is one `minebrain pki` subcommand.
type pkiCommand struct {
	name, args, summary string
	positional          int // the number of positional arguments (a thumbprint) it takes
	run                 func(p *pkiRun, args []string) int
}

func pkiCommands() []pkiCommand {
	return []pkiCommand{
		{"list", "[--json]", "every certificate: own, trusted, rejected, issuers, and the connections pinned to each", 0, (*pkiRun).list},
		{"trust", "THUMBPRINT [--connection NAME] [--json]", "trust a rejected server certificate; --connection also pins that connection to it", 1, (*pkiRun).trust},
		{"reject", "THUMBPRINT [--json]", "stop trusting a certificate (moved to rejected/, its pins removed)", 1, (*pkiRun).reject},
		{"remove", "THUMBPRINT [--json]", "delete a certificate from trusted/ and rejected/ (its pins removed)", 1, (*pkiRun).remove},
		{"show-own", "[--json]", "Minebrain's own application certificate, made on first use", 0, (*pkiRun).showOwn},
	}
}

// pkiRun is one run of a pki subcommand: its parsed flags and outputs.
type pkiRun struct {
	name           string
	fs             *flag.FlagSet
	dir, data      string
	dataErr        error
	json           bool
	connection     string
	stdout, stderr io.Writer
}

func runPki(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) == 0 {
			pkiUsage(stderr)
			return exitUsage
		}
		pkiUsage(stdout)
		return exitOK
	}
	for _, c := range pkiCommands() {
		if c.name != args[0] {
			continue
		}
		p := &pkiRun{name: "pki " + c.name, stdout: stdout, stderr: stderr}
		p.fs = newFlagSet(p.name, p.name+" "+c.args, stderr)
		p.fs.StringVar(&p.dir, "pki", "", "PKI directory (default <data>/"+pkiDirName+")")
		var def string
		def, p.dataErr = defaultDataDir()
		p.fs.StringVar(&p.data, "data", def, "Minebrain's data directory, whose "+pkiDirName+"/ is the PKI directory unless --pki is given")
		p.fs.BoolVar(&p.json, "json", false, "print JSON lines")
		if c.name == "trust" {
			p.fs.StringVar(&p.connection, "connection", "", "also pin this connection (a connection name of the site file) to the certificate")
		}
		pos, code := parseInterleaved(p.fs, args[1:])
		if code >= 0 {
			return code
		}
		switch {
		case len(pos) < c.positional:
			return p.usage("missing THUMBPRINT (`minebrain pki list` shows them)")
		case len(pos) > c.positional:
			return p.usage(fmt.Sprintf("unexpected argument %q", pos[c.positional]))
		}
		if p.dir == "" {
			if p.data == "" {
				why := "--data is empty"
				if p.dataErr != nil {
					why = p.dataErr.Error()
				}
				return p.usage("no PKI directory (" + why + "); name one with --pki DIR or --data DIR")
			}
			p.dir = filepath.Join(p.data, pkiDirName)
		}
		return c.run(p, pos)
	}
	fmt.Fprintf(stderr, "minebrain pki: unknown command %q\n\n", args[0])
	pkiUsage(stderr)
	return exitUsage
}

func pkiUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: minebrain pki <command> [--pki DIR | --data DIR] [--json]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Minebrain's OPC UA certificates: its own application certificate, the server certificates")
	fmt.Fprintln(w, "it trusts, the ones it refused (kept in rejected/ for someone to trust), and the pin of each")
	fmt.Fprintln(w, "connection to the certificate it first accepted there. The directory is <data>/"+pkiDirName+"; a")
	fmt.Fprintln(w, "THUMBPRINT is the SHA-1 of a certificate, or an unambiguous beginning of it.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range pkiCommands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure (such as an unknown thumbprint), 2 usage error.")
	fmt.Fprintln(w, "Run `minebrain pki <command> --help` for a command's flags.")
}

// usage reports a usage error found after flag parsing and returns exit status 2.
func (p *pkiRun) usage(msg string) int {
	fmt.Fprintf(p.stderr, "minebrain %s: %s\n", p.name, msg)
	p.fs.Usage()
	return exitUsage
}

func (p *pkiRun) open() (*pki.Store, int) {
	s, err := pki.Open(p.dir)
	if err != nil {
		return nil, failed(p.stderr, p.name, err)
	}
	return s, -1
}

// pkiCert is a certificate as `pki --json` prints it.
type pkiCert struct {
	State          string    `json:"state"`
	Thumbprint     string    `json:"thumbprint"`
	Subject        string    `json:"subject,omitempty"`
	Issuer         string    `json:"issuer,omitempty"`
	NotBefore      time.Time `json:"not_before,omitzero"`
	NotAfter       time.Time `json:"not_after,omitzero"`
	ApplicationURI string    `json:"application_uri,omitempty"`
	DNSNames       []string  `json:"dns_names,omitempty"`
	File           string    `json:"file,omitempty"`
	Pinned         []string  `json:"pinned,omitempty"` // connections pinned to it
}

func toPkiCert(in pki.Info, pins map[string]string) pkiCert {
	return pkiCert{
		State: in.State, Thumbprint: in.Thumbprint, Subject: in.Subject, Issuer: in.Issuer,
		NotBefore: in.NotBefore.UTC(), NotAfter: in.NotAfter.UTC(), ApplicationURI: in.ApplicationURI,
		DNSNames: in.DNSNames, File: in.File, Pinned: pinnedTo(pins, in.Thumbprint),
	}
}

// pinnedTo lists, sorted, the connections pinned to thumb.
func pinnedTo(pins map[string]string, thumb string) []string {
	var out []string
	for c, t := range pins {
		if t == thumb {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func (p *pkiRun) jsonLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	fmt.Fprintf(p.stdout, "%s\n", b)
}

// shortName is a certificate's common name, or its subject when it has none.
func shortName(in pki.Info) string {
	if in.CommonName != "" {
		return in.CommonName
	}
	if in.Subject != "" {
		return in.Subject
	}
	return "-"
}

func (p *pkiRun) list(_ []string) int {
	s, code := p.open()
	if s == nil {
		return code
	}
	certs, err := s.List()
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	pins, err := s.PinsErr()
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	present := map[string]bool{}
	for _, in := range certs {
		present[in.Thumbprint] = true
	}
	// Pins to a certificate no longer in the store (removed by hand): the connection stays
	// refused for any other certificate until it is trusted with --connection.
	var orphans []string
	for c, t := range pins {
		if !present[t] {
			orphans = append(orphans, c)
		}
	}
	sort.Strings(orphans)

	if p.json {
		for _, in := range certs {
			p.jsonLine(toPkiCert(in, pins))
		}
		for _, c := range orphans {
			p.jsonLine(pkiCert{State: "missing", Thumbprint: pins[c], Pinned: []string{c}})
		}
		return exitOK
	}
	if len(certs) == 0 && len(orphans) == 0 {
		fmt.Fprintf(p.stdout, "no certificates in %s\n", s.Dir())
		return exitOK
	}
	now := time.Now()
	tw := tabwriter.NewWriter(p.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tTHUMBPRINT\tSUBJECT\tVALID UNTIL\tPINNED TO")
	for _, in := range certs {
		until := in.NotAfter.UTC().Format("2006-01-02")
		switch {
		case now.After(in.NotAfter):
			until += " (expired)"
		case now.Before(in.NotBefore):
			until += " (not yet valid)"
		}
		pinned := strings.Join(pinnedTo(pins, in.Thumbprint), ", ")
		if pinned == "" {
			pinned = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.State, in.Thumbprint, shortName(in), until, pinned)
	}
	for _, c := range orphans {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", "missing", pins[c], "(certificate not in the store)", "-", c)
	}
	tw.Flush()
	return exitOK
}

// manage runs trust, reject or remove and reports the result.
func (p *pkiRun) manage(verb string, do func(s *pki.Store) (pki.Info, error)) int {
	s, code := p.open()
	if s == nil {
		return code
	}
	before := s.Pins()
	in, err := do(s)
	if err != nil {
		var amb *pki.AmbiguousError
		if errors.As(err, &amb) || errors.Is(err, pki.ErrNotFound) {
			fmt.Fprintf(p.stderr, "minebrain %s: %v\n", p.name, err)
			return exitError
		}
		return failed(p.stderr, p.name, err)
	}
	after := s.Pins()
	if p.json {
		p.jsonLine(toPkiCert(in, after))
		return exitOK
	}
	fmt.Fprintf(p.stdout, "%s %s %s\n", verb, in.Thumbprint, shortName(in))
	for _, c := range pinnedTo(after, in.Thumbprint) {
		if before[c] != in.Thumbprint {
			fmt.Fprintf(p.stdout, "connection %q is now pinned to it\n", c)
		}
	}
	for _, c := range pinnedTo(before, in.Thumbprint) {
		if after[c] != in.Thumbprint {
			fmt.Fprintf(p.stdout, "connection %q is no longer pinned; it will pin the next trusted certificate it is shown\n", c)
		}
	}
	return exitOK
}

func (p *pkiRun) trust(args []string) int {
	return p.manage("trusted", func(s *pki.Store) (pki.Info, error) { return s.Trust(args[0], p.connection) })
}

func (p *pkiRun) reject(args []string) int {
	return p.manage("rejected", func(s *pki.Store) (pki.Info, error) { return s.Reject(args[0]) })
}

func (p *pkiRun) remove(args []string) int {
	return p.manage("removed", func(s *pki.Store) (pki.Info, error) { return s.Remove(args[0]) })
}

func (p *pkiRun) showOwn(_ []string) int {
	s, code := p.open()
	if s == nil {
		return code
	}
	certPath := filepath.Join(s.Dir(), filepath.FromSlash(pki.OwnCertFile))
	_, statErr := os.Stat(certPath)
	der, _, err := s.Own(pki.ApplicationURI(), pki.ApplicationName)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		fmt.Fprintf(p.stderr, "minebrain %s: made a new application certificate in %s\n", p.name, certPath)
	}
	in, err := pki.InfoOf(der)
	if err != nil {
		return failed(p.stderr, p.name, err)
	}
	in.State, in.File = pki.StateOwn, certPath
	if p.json {
		p.jsonLine(toPkiCert(in, nil))
		return exitOK
	}
	tw := tabwriter.NewWriter(p.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "application URI:\t%s\n", in.ApplicationURI)
	fmt.Fprintf(tw, "subject:\t%s\n", in.Subject)
	fmt.Fprintf(tw, "thumbprint:\t%s\n", in.Thumbprint)
	fmt.Fprintf(tw, "valid from:\t%s\n", in.NotBefore.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "valid until:\t%s\n", in.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "DNS names:\t%s\n", strings.Join(in.DNSNames, ", "))
	fmt.Fprintf(tw, "certificate:\t%s\n", certPath)
	fmt.Fprintf(tw, "private key:\t%s\n", filepath.Join(s.Dir(), filepath.FromSlash(pki.OwnKeyFile)))
	tw.Flush()
	return exitOK
}
