package opcua

import (
	"fmt"
	"path"
	"strings"
)

// Selection says which nodes of a server a Connection monitors (the site file's equipment,
// browse and nodes sections). The zero value selects the simulated mine's equipment tree.
type Selection struct {
	// Equipment roots follow Minebrain's convention Objects/<Root>/<Area>/<Unit>/<Signal>.
	Equipment []EquipmentRoot
	// Browse rules pick variables by browse-path pattern under a folder.
	Browse []BrowseRule
	// Nodes are explicit NodeIds, each with its tag name.
	Nodes []NodeRule
}

// EquipmentRoot is a Minebrain-convention equipment tree.
type EquipmentRoot struct {
	NamespaceURI string // the namespace of the tree's nodes; default DefaultNamespaceURI
	Root         string // the browse name of the folder under Objects; default "Mine"
}

// BrowseRule selects the variables whose browse path below Under matches Match. Each
// variable becomes the signal <Area>.<parent object>.<variable>.
type BrowseRule struct {
	// Under is the browse path from the Objects folder, browse names separated by "/"
	// (a leading "Objects/" is allowed).
	Under string
	// Match is a pattern over the path below Under: segments separated by "/", each a glob
	// ("*", "Pump*", "[AB]?") matching one browse name, or "**" for any number of levels.
	Match string
	// Area is the UI area the units go in; default the last segment of Under.
	Area     string
	Deadband Deadband
}

// NodeRule is one explicit node.
type NodeRule struct {
	// Node is the NodeId: ns=2;s=…, nsu=<namespace URI>;s=…, i=2258, g=…, b=….
	Node string
	// Tag is the signal's name, Area.Unit.Signal.
	Tag      string
	Deadband Deadband
}

// Deadband filters data changes on the server (an OPC UA DataChangeFilter).
type Deadband struct {
	// Kind is "" (none), "absolute" (in engineering units) or "percent" (of the EURange).
	Kind  string
	Value float64
}

// withDefaults fills the default selection and checks what can be checked without a server.
func (s Selection) withDefaults() (Selection, error) {
	if len(s.Equipment) == 0 && len(s.Browse) == 0 && len(s.Nodes) == 0 {
		s.Equipment = []EquipmentRoot{{}}
	}
	eq := make([]EquipmentRoot, len(s.Equipment))
	for i, r := range s.Equipment {
		if r.NamespaceURI == "" {
			r.NamespaceURI = DefaultNamespaceURI
		}
		if r.Root == "" {
			r.Root = "Mine"
		}
		eq[i] = r
	}
	s.Equipment = eq
	br := make([]BrowseRule, len(s.Browse))
	for i, r := range s.Browse {
		segs := underPath(r.Under)
		if len(segs) == 0 {
			return s, fmt.Errorf("browse rule %d: empty folder path (want e.g. Objects/Plant)", i+1)
		}
		if err := checkPattern(r.Match); err != nil {
			return s, fmt.Errorf("browse rule %d: %w", i+1, err)
		}
		if r.Area == "" {
			r.Area = segs[len(segs)-1]
		}
		if err := r.Deadband.validate(); err != nil {
			return s, fmt.Errorf("browse rule %d: %w", i+1, err)
		}
		br[i] = r
	}
	s.Browse = br
	for i, n := range s.Nodes {
		if _, _, err := parseNodeRef(n.Node); err != nil {
			return s, fmt.Errorf("node %d: %w", i+1, err)
		}
		if len(strings.Split(n.Tag, ".")) != 3 || strings.Contains(n.Tag, "..") || strings.HasPrefix(n.Tag, ".") || strings.HasSuffix(n.Tag, ".") {
			return s, fmt.Errorf("node %d (%s): tag %q is not Area.Unit.Signal", i+1, n.Node, n.Tag)
		}
		if err := n.Deadband.validate(); err != nil {
			return s, fmt.Errorf("node %d (%s): %w", i+1, n.Node, err)
		}
	}
	return s, nil
}

func (d Deadband) validate() error {
	switch d.Kind {
	case "":
		return nil
	case "absolute", "percent":
		if d.Value < 0 || (d.Kind == "percent" && d.Value > 100) {
			return fmt.Errorf("deadband %s %v is out of range", d.Kind, d.Value)
		}
		return nil
	}
	return fmt.Errorf("deadband kind %q is not absolute or percent", d.Kind)
}

// underPath splits a folder path into browse names, without a leading Objects.
func underPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) > 0 && segs[0] == "Objects" {
		segs = segs[1:]
	}
	return segs
}

// checkPattern validates a browse pattern.
func checkPattern(p string) error {
	if strings.Trim(p, "/") == "" {
		return fmt.Errorf("empty match pattern (want e.g. */* for the variables of every object)")
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "**" {
			continue
		}
		if seg == "" {
			return fmt.Errorf("match pattern %q has an empty segment", p)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("match pattern %q: segment %q is not a valid glob", p, seg)
		}
	}
	return nil
}

// patternSegments returns a pattern's segments.
func patternSegments(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }
