package engine

import (
	"fmt"

	"minebrain/app/users"
)

// Actor is who calls an engine method: the logged-in user of a face's session. The faces
// build it from their session, never from what the page sends.
type Actor struct {
	Name string
	Role users.Role
	Face string // audit.FaceDesktop, audit.FaceWeb
}

// need refuses an actor whose role is below min, naming what was refused.
func (a Actor) need(min users.Role, what string) error {
	if a.Name == "" || !a.Role.Valid() {
		return fmt.Errorf("%s: not logged in", what)
	}
	if !a.Role.Allows(min) {
		return fmt.Errorf("%s needs the %s role; %s is %s", what, min, a.Name, a.Role)
	}
	return nil
}
