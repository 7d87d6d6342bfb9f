package desktop

import (
	"minebrain/app/audit"
	"minebrain/app/control"
	"minebrain/app/engine"
	"minebrain/app/plugins"
)

// The alarm, control, audit and user bindings: each runs as the window's logged-in user
// (the engine checks the role) and fails "not logged in" before a login.

// Alarms returns the alarm summary.
func (a *App) Alarms() (engine.AlarmSummary, error) {
	act, err := a.actor()
	if err != nil {
		return engine.AlarmSummary{}, err
	}
	return a.engine.Alarms(act)
}

// AcknowledgeAlarms acknowledges alarms (operator+).
func (a *App) AcknowledgeAlarms(ids []string) (engine.AckResult, error) {
	act, err := a.actor()
	if err != nil {
		return engine.AckResult{}, err
	}
	return a.engine.AcknowledgeAlarms(act, ids)
}

// ShelveAlarm shelves an alarm for minutes, or until it next returns to normal with 0
// (operator+).
func (a *App) ShelveAlarm(id, reason string, minutes float64) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.ShelveAlarm(act, id, reason, minutes)
}

// UnshelveAlarm unshelves an alarm (operator+).
func (a *App) UnshelveAlarm(id string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.UnshelveAlarm(act, id)
}

// ResetAlarm resets a latched alarm (operator+).
func (a *App) ResetAlarm(id string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.ResetAlarm(act, id)
}

// RemoveAlarmFromService takes an alarm out of service (engineer+).
func (a *App) RemoveAlarmFromService(id, reason string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.RemoveAlarmFromService(act, id, reason)
}

// ReturnAlarmToService puts an alarm back in service (engineer+).
func (a *App) ReturnAlarmToService(id, reason string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.ReturnAlarmToService(act, id, reason)
}

// AlarmHistory returns the alarm journal, newest first.
func (a *App) AlarmHistory(q engine.AlarmHistoryQuery) ([]engine.JournalEntry, error) {
	act, err := a.actor()
	if err != nil {
		return nil, err
	}
	return a.engine.AlarmHistory(act, q)
}

// AlarmKPIs returns the alarm rates per area.
func (a *App) AlarmKPIs() ([]engine.AreaKPI, error) {
	act, err := a.actor()
	if err != nil {
		return nil, err
	}
	return a.engine.AlarmKPIs(act)
}

// ControlPanel returns a unit's commands and setpoints as this user may use them.
func (a *App) ControlPanel(unit string) (control.Panel, error) {
	act, err := a.actor()
	if err != nil {
		return control.Panel{}, err
	}
	return a.engine.ControlPanel(act, unit)
}

// SelectCommand selects a command, the first step of select-before-operate.
func (a *App) SelectCommand(req engine.CommandRequest) (control.Selection, error) {
	act, err := a.actor()
	if err != nil {
		return control.Selection{}, err
	}
	return a.engine.SelectCommand(act, req)
}

// OperateCommand executes a selected command, with the reason given in the confirmation.
func (a *App) OperateCommand(id, reason string) (control.Result, error) {
	act, err := a.actor()
	if err != nil {
		return control.Result{}, err
	}
	return a.engine.OperateCommand(act, id, reason)
}

// CancelCommand cancels a selection.
func (a *App) CancelCommand(id string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.CancelCommand(act, id)
}

// Audit returns audit entries, newest first.
func (a *App) Audit(q engine.AuditQuery) ([]audit.Entry, error) {
	act, err := a.actor()
	if err != nil {
		return nil, err
	}
	return a.engine.Audit(act, q)
}

// VerifyAudit checks the audit log's hash chain (engineer+).
func (a *App) VerifyAudit() (engine.AuditReport, error) {
	act, err := a.actor()
	if err != nil {
		return engine.AuditReport{}, err
	}
	return a.engine.VerifyAudit(act)
}

// Users lists the users (admin).
func (a *App) Users() ([]engine.UserView, error) {
	act, err := a.actor()
	if err != nil {
		return nil, err
	}
	return a.engine.Users(act)
}

// AddUser adds a user (admin).
func (a *App) AddUser(name, role, password string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.AddUser(act, name, role, password)
}

// SetUserRole changes a user's role (admin); changing one's own applies at once.
func (a *App) SetUserRole(name, role string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	if err := a.engine.SetUserRole(act, name, role); err != nil {
		return err
	}
	a.checkUser(true)
	return nil
}

// SetUserPassword sets a user's password (admin).
func (a *App) SetUserPassword(name, password string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.SetUserPassword(act, name, password)
}

// SetUserDisabled disables or enables a user (admin); disabling oneself logs out at once.
func (a *App) SetUserDisabled(name string, disabled bool) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	if err := a.engine.SetUserDisabled(act, name, disabled); err != nil {
		return err
	}
	a.checkUser(true)
	return nil
}

// ChangeOwnPassword changes the logged-in user's password.
func (a *App) ChangeOwnPassword(old, new string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.ChangeOwnPassword(act, old, new)
}

// Plugins lists the loaded plugins.
func (a *App) Plugins() ([]plugins.Status, error) {
	act, err := a.actor()
	if err != nil {
		return nil, err
	}
	return a.engine.Plugins(act)
}

// AvailablePlugins lists the manifests in the plugins directory.
func (a *App) AvailablePlugins() ([]engine.AvailablePlugin, error) {
	act, err := a.actor()
	if err != nil {
		return nil, err
	}
	return a.engine.AvailablePlugins(act)
}

// LoadPlugin loads a plugin from the plugins directory (engineer+).
func (a *App) LoadPlugin(path string) (plugins.Status, error) {
	act, err := a.actor()
	if err != nil {
		return plugins.Status{}, err
	}
	return a.engine.LoadPlugin(act, path)
}

// ReloadPlugin loads a plugin again, keeping its stored state (engineer+).
func (a *App) ReloadPlugin(id string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.ReloadPlugin(act, id)
}

// RemovePlugin unloads a plugin (engineer+).
func (a *App) RemovePlugin(id string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.RemovePlugin(act, id)
}

// SetPluginMode switches a plugin between off, shadow and auto (engineer+).
func (a *App) SetPluginMode(id, mode string) error {
	act, err := a.actor()
	if err != nil {
		return err
	}
	return a.engine.SetPluginMode(act, id, mode)
}
