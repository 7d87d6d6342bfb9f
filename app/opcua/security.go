package opcua

import (
	"fmt"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// SecurityMode is how messages on the secure channel are protected.
type SecurityMode int

// SecurityNone is the only mode implemented so far: no signing, no encryption, anonymous
// user. Sign and SignAndEncrypt arrive with the PKI work, which must also check the server
// certificate itself: gopcua does not validate it.
const SecurityNone SecurityMode = 0

// String returns the OPC UA name of the mode.
func (m SecurityMode) String() string {
	if m == SecurityNone {
		return "None"
	}
	return fmt.Sprintf("SecurityMode(%d)", int(m))
}

// Security is the connection's security configuration. It is kept separate from the rest of
// Options so the certificate, trust list and user identity settings of the PKI work have one
// place to go, and clientOptions stays the only code that turns them into gopcua options.
type Security struct {
	Mode SecurityMode
}

func (s Security) validate() error {
	if s.Mode != SecurityNone {
		return fmt.Errorf("security mode %v is not supported yet (only None)", s.Mode)
	}
	return nil
}

// clientOptions returns the gopcua options for this security configuration.
func (s Security) clientOptions() []opcua.Option {
	return []opcua.Option{
		opcua.SecurityPolicy(ua.SecurityPolicyURINone),
		opcua.SecurityMode(ua.MessageSecurityModeNone),
		opcua.AuthAnonymous(),
	}
}
