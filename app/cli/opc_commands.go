package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"minebrain/app/opcua"
)

func browseFlags(fs *flag.FlagSet, o *opcRun) {
	fs.IntVar(&o.depth, "depth", 1, "levels below NODE to show (0: NODE only)")
}

func watchFlags(fs *flag.FlagSet, o *opcRun) {
	fs.DurationVar(&o.watchFor, "for", 0, "stop after this long (default: until interrupted)")
	fs.DurationVar(&o.interval, "interval", opcua.DefaultPublishInterval, "sampling and publishing interval")
}

func runOpcEndpoints(ctx context.Context, o *opcRun) int {
	opts, err := o.toolOptions()
	if err != nil {
		return o.usage(err)
	}
	eps, err := opcua.Endpoints(ctx, opts)
	if err != nil {
		return o.fail(err)
	}
	if o.json {
		for _, e := range eps {
			o.jsonLine(e)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tMODE\tLEVEL\tUSER TOKENS\tURL")
	for _, e := range eps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", e.SecurityPolicy, e.SecurityMode, e.SecurityLevel, strings.Join(e.UserTokens, ","), e.URL)
	}
	tw.Flush()
	return exitOK
}

func runOpcBrowse(ctx context.Context, o *opcRun) int {
	if o.depth < 0 {
		return o.usage(fmt.Errorf("--depth must be 0 or more, got %d", o.depth))
	}
	root := opcua.ObjectsFolder
	if len(o.args) == 1 {
		n, err := opcua.ParseNodeID(o.args[0])
		if err != nil {
			return o.usage(err)
		}
		root = n
	}
	t, code := o.dial(ctx)
	if t == nil {
		return code
	}
	defer t.Close()
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	if !o.json {
		fmt.Fprintln(tw, "NAME\tCLASS\tNODEID\tDATATYPE\tVALUE")
	}
	err := t.Browse(ctx, root, o.depth, func(n opcua.BrowseNode) {
		if o.json {
			o.jsonLine(n)
			return
		}
		dataType, value := "", ""
		if n.NodeClass == "Variable" {
			dataType, value = n.DataType, opcua.FormatValue(n.Value)
			if n.Status != "Good" {
				value += " (" + n.Status + ")"
			}
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", strings.Repeat("  ", n.Depth), n.BrowseName, n.NodeClass, n.NodeID, dataType, value)
	})
	tw.Flush()
	if err != nil {
		return o.fail(err)
	}
	return exitOK
}

func runOpcRead(ctx context.Context, o *opcRun) int {
	nodes, err := o.parseNodes(o.args)
	if err != nil {
		return o.usage(err)
	}
	t, code := o.dial(ctx)
	if t == nil {
		return code
	}
	defer t.Close()
	vals, err := t.Read(ctx, nodes)
	if err != nil {
		return o.fail(err)
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	if !o.json {
		fmt.Fprintln(tw, "NODEID\tDATATYPE\tVALUE\tSTATUS\tSOURCE TIME")
	}
	code = exitOK
	for _, v := range vals {
		if v.Bad() {
			code = exitError
		}
		if o.json {
			o.jsonLine(v)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.NodeID, v.DataType, opcua.FormatValue(v.Value), v.Status, timeText(v.SourceTime))
	}
	tw.Flush()
	if code != exitOK {
		for _, v := range vals {
			if v.Bad() {
				fmt.Fprintf(o.stderr, "minebrain %s: %s: %s\n", o.name, v.NodeID, v.Status)
			}
		}
	}
	return code
}

// runOpcWrite writes a value as a logged-in engineer, audited (see opc_audit.go): the current
// value is read first for the audit entry.
func runOpcWrite(ctx context.Context, o *opcRun) int {
	if code := o.checkActor("changes equipment"); code >= 0 {
		return code
	}
	nodes, err := o.parseNodes(o.args[:1])
	if err != nil {
		return o.usage(err)
	}
	g, code := o.login(ctx, "opc.write", o.url+" "+nodes[0].String(), o.args[1])
	if g == nil {
		return code
	}
	defer g.close()
	t, code := o.dial(ctx)
	if t == nil {
		return code
	}
	defer t.Close()
	cur, err := t.Read(ctx, nodes)
	if err != nil {
		return g.refuse(ctx, "cannot read the current value: "+err.Error())
	}
	g.entry.Old = currentValue(cur[0])
	var res opcua.WriteResult
	sendErr, auditErr := g.send(ctx, func() (err error) {
		res, err = t.Write(ctx, nodes[0], o.args[1])
		return err
	})
	if res.Status != "" {
		if o.json {
			o.jsonLine(res)
		} else {
			fmt.Fprintf(o.stdout, "%s  %s  %s  %s\n", res.NodeID, res.DataType, opcua.FormatValue(res.Value), res.Status)
		}
	}
	return g.finish(sendErr, auditErr)
}

func runOpcWatch(ctx context.Context, o *opcRun) int {
	if o.watchFor < 0 {
		return o.usage(fmt.Errorf("--for must be 0 (until interrupted) or more, got %v", o.watchFor))
	}
	if o.interval <= 0 {
		return o.usage(fmt.Errorf("--interval must be above 0, got %v", o.interval))
	}
	nodes, err := o.parseNodes(o.args)
	if err != nil {
		return o.usage(err)
	}
	t, code := o.dial(ctx)
	if t == nil {
		return code
	}
	defer t.Close()
	if o.watchFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.watchFor)
		defer cancel()
	}
	// Column widths are fixed up front: lines are printed as they come.
	width := 0
	for _, n := range nodes {
		width = max(width, len(n.String()))
	}
	// A Bad status seen for a node (refused, unknown, or a bad value) makes the exit status 1,
	// as with read; the first one per node is named on stderr at the end.
	var badSeen []string
	badNode := map[string]bool{}
	err = t.Watch(ctx, nodes, o.interval, func(v opcua.NodeValue) {
		if v.Bad() && !badNode[v.NodeID] {
			badNode[v.NodeID] = true
			badSeen = append(badSeen, v.NodeID+": "+v.Status)
		}
		if o.json {
			o.jsonLine(v)
			return
		}
		fmt.Fprintf(o.stdout, "%s  %-*s  %-8s  %s  %s\n", timeText(v.SourceTime), width, v.NodeID, v.DataType, opcua.FormatValue(v.Value), v.Status)
	})
	if err != nil {
		return o.fail(err)
	}
	for _, b := range badSeen {
		fmt.Fprintf(o.stderr, "minebrain %s: %s\n", o.name, b)
	}
	if len(badSeen) > 0 {
		return exitError
	}
	return exitOK
}

// runOpcCall calls a method as a logged-in engineer, audited like runOpcWrite (a method has
// no current value: Old is empty). It is tested against node-opcua (opc_peer_test.go).
func runOpcCall(ctx context.Context, o *opcRun) int {
	if code := o.checkActor("can act on equipment"); code >= 0 {
		return code
	}
	nodes, err := o.parseNodes(o.args[:2])
	if err != nil {
		return o.usage(err)
	}
	g, code := o.login(ctx, "opc.call", o.url+" "+nodes[0].String()+" "+nodes[1].String(), argsText(o.args[2:]))
	if g == nil {
		return code
	}
	defer g.close()
	t, code := o.dial(ctx)
	if t == nil {
		return code
	}
	defer t.Close()
	var res opcua.CallResult
	sendErr, auditErr := g.send(ctx, func() (err error) {
		res, err = t.Call(ctx, nodes[0], nodes[1], o.args[2:])
		return err
	})
	if res.Status != "" {
		if o.json {
			o.jsonLine(res)
		} else {
			outs := make([]string, len(res.Outputs))
			for i, v := range res.Outputs {
				outs[i] = opcua.FormatValue(v)
			}
			fmt.Fprintf(o.stdout, "%s  %s  %s\n", res.MethodID, res.Status, strings.Join(outs, "  "))
		}
	}
	return g.finish(sendErr, auditErr)
}
