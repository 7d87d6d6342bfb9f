package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// AddNode adds an explicit node to a connection of a site file and returns the site as it is
// now. The file is edited as a YAML tree, so comments and the other entries stay; the result
// is parsed and validated before it replaces the file (atomically, with the previous version
// kept as <file>.bak), so a bad node never leaves a broken site file behind.
//
// base is the file's current contents when it is not on disk yet (the built-in site being
// saved for the first time); nil reads path.
func AddNode(path string, base []byte, connection, node, tag string) (*Site, error) {
	data := base
	if data == nil {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("site: %w", err)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("site: %s: %w", path, err)
	}
	conn, err := findConnection(&doc, connection)
	if err != nil {
		return nil, fmt.Errorf("site: %s: %w", path, err)
	}
	nodes := mapValue(conn, "nodes")
	if nodes == nil {
		conn.Content = append(conn.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "nodes"},
			&yaml.Node{Kind: yaml.SequenceNode})
		nodes = conn.Content[len(conn.Content)-1]
	}
	nodes.Kind, nodes.Style, nodes.Tag = yaml.SequenceNode, 0, ""
	nodes.Content = append(nodes.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "node"}, {Kind: yaml.ScalarNode, Value: node, Style: yaml.DoubleQuotedStyle},
		{Kind: yaml.ScalarNode, Value: "tag"}, {Kind: yaml.ScalarNode, Value: tag},
	}})

	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("site: %s: %w", path, err)
	}
	enc.Close()
	s, err := Parse(path, out.Bytes())
	if err != nil {
		return nil, err // names the new entry's line: the file is untouched
	}
	if err := replaceFile(path, out.Bytes()); err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	return s, nil
}

// findConnection returns the mapping of the named connection.
func findConnection(doc *yaml.Node, name string) (*yaml.Node, error) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	conns := mapValue(root, "connections")
	if conns == nil || conns.Kind != yaml.SequenceNode {
		return nil, errors.New("no connections list")
	}
	for _, c := range conns.Content {
		if n := mapValue(c, "name"); n != nil && n.Value == name && c.Kind == yaml.MappingNode {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no connection named %q", name)
}

// mapValue returns the value of key in a mapping node, nil if absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// replaceFile writes data to path through a synced temporary file and a rename, keeping the
// old file as path.bak.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil {
		if err := os.WriteFile(path+".bak", old, 0o644); err != nil {
			return err
		}
	}
	return os.Rename(tmp.Name(), path)
}

// DefaultYAML returns the built-in site file's text, for saving it as a real file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }
