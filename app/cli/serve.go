package cli

import (
	"context"
	"fmt"
	"io"

	"minebrain/app/engine"
	"minebrain/app/web"
	"minebrain/frontend"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "serve [flags]", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the web face (host:port)")
	allowRemote := fs.Bool("allow-remote", false, "allow --listen on an address other than loopback (needs --tls-cert and --tls-key)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (chain); needs --tls-key")
	tlsKey := fs.String("tls-key", "", "the PEM private key of --tls-cert")
	sessionIdle := fs.Duration("session-idle", web.DefaultSessionIdle, "log a web session out after this long without activity")
	sessionLifetime := fs.Duration("session-lifetime", web.DefaultSessionLifetime, "log a web session out this long after its login, however active")
	ef := addEngineFlags(fs)
	if code := parseEngineFlags(fs, ef, args, stderr); code >= 0 {
		return code
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintf(stderr, "minebrain serve: %s and %s go together: give both or neither\n", web.TLSCertFlag, web.TLSKeyFlag)
		fs.Usage()
		return exitUsage
	}
	logger := newLogger(stderr)

	eng, err := engine.New(ef.config(logger))
	if err != nil {
		return failed(stderr, "serve", err)
	}
	srv, err := web.New(eng, web.Options{Listen: *listen, AllowRemote: *allowRemote,
		TLSCert: *tlsCert, TLSKey: *tlsKey,
		SessionIdle: *sessionIdle, SessionLifetime: *sessionLifetime, Assets: frontend.Dist(), Logger: logger})
	if err != nil {
		return failed(stderr, "serve", err)
	}
	// Bind the web face before starting the engine: a port in use is reported before any
	// time is spent connecting to the mine.
	if err := srv.Listen(); err != nil {
		return failed(stderr, "serve", err)
	}
	if err := eng.Start(ctx); err != nil {
		return failed(stderr, "serve", err)
	}
	defer eng.Close()

	fmt.Fprintf(stdout, "Minebrain web face: %s\n", srv.URL())
	if err := srv.Serve(ctx); err != nil {
		return failed(stderr, "serve", err)
	}
	return exitOK
}
