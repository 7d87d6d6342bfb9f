package opcua

import (
	"context"
	"fmt"
	"strconv"
)

// Write writes value to the node monitored as tag, on the connection's current session. The
// value is converted to the node's DataType (read first), as `minebrain opc write` does. A Bad
// status from the server is a *StatusError naming it (BadInvalidState, BadOutOfRange, …).
//
// It is the transport under app/control: nothing else in the application writes to equipment.
func (c *Connection) Write(ctx context.Context, tag string, value any) error {
	c.mu.Lock()
	cl := c.live
	var it item
	for _, m := range c.monitored {
		if m.tag == tag {
			it = m
			break
		}
	}
	c.mu.Unlock()
	if it.node == nil {
		return fmt.Errorf("opcua: connection %q does not read %s", c.opts.Name, tag)
	}
	if cl == nil {
		return fmt.Errorf("%w to %s", ErrNotConnected, c.opts.Endpoint)
	}
	node := it.bind(cl.Namespaces())
	if node == nil {
		return fmt.Errorf("opcua: %s: the server no longer has namespace %s", tag, it.nsURI)
	}
	var text string
	switch v := value.(type) {
	case bool:
		text = strconv.FormatBool(v)
	case float64:
		text = strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		text = v
	default:
		text = fmt.Sprint(v)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	t := &Tool{cl: cl, timeout: c.opts.RequestTimeout}
	_, err := t.Write(ctx, node, text)
	return err
}

// Reads reports whether the connection monitors tag.
func (c *Connection) Reads(tag string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.monitored {
		if c.monitored[i].tag == tag {
			return true
		}
	}
	return false
}
