package users

import (
	"fmt"
	"strings"
)

// Role is what a user may do. Roles are ordered: each includes everything below it,
// admin ⊇ engineer ⊇ operator ⊇ viewer.
type Role int

const (
	Viewer   Role = iota + 1 // sees everything, commands nothing
	Operator                 // commands equipment, acknowledges alarms
	Engineer                 // also engineer-only setpoints and configuration
	Admin                    // also manages users
)

var roleNames = [...]string{Viewer: "viewer", Operator: "operator", Engineer: "engineer", Admin: "admin"}

// Roles lists the roles from least to most privileged.
func Roles() []Role { return []Role{Viewer, Operator, Engineer, Admin} }

func (r Role) String() string {
	if r.Valid() {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r >= Viewer && r <= Admin }

// Allows reports whether a user with role r may do what needs role min.
func (r Role) Allows(min Role) bool { return r.Valid() && min.Valid() && r >= min }

// ParseRole parses a role name (any case).
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if strings.EqualFold(s, roleNames[r]) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (viewer, operator, engineer or admin)", s)
}
