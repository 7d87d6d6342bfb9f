// Package sim is Minebrain's simulated open-pit iron mine: a real OPC UA
// server (gopcua's server package) in front of a deterministic plant model.
//
// The package has two halves that only meet in server.go:
//
//   - The model (model.go, signal.go, equipment.go, environment.go, wear.go,
//     noise.go, layout.go and units_*.go) is pure Go with no I/O and no
//     goroutines. A Mine is advanced by Step in fixed steps of StepInterval, so
//     the same seed and the same simulated time always give the same values,
//     however the time was chunked. Tests and tools (the plugin harness's twin)
//     can use it without a server.
//   - The OPC UA face (server.go, options.go, relay.go, namespace.go,
//     addressspace.go, eu.go, notify.go, handlers.go, subscriptions.go,
//     logging.go) publishes the model as the address space of Contract 1 in
//     docs/architecture.md and turns client writes into model commands. It
//     works around several limits of gopcua v0.8.0's server; each
//     workaround says why where it is.
//
// Address space: Objects/Mine/<Area>/<Unit>/<Signal> with string NodeIds in
// the namespace NamespaceURI (index 2 on this server), for example
// ns=2;s=Crushing.CR1.PowerKW. The string part is the tag used throughout
// Minebrain.
package sim
