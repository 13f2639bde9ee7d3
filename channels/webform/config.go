package webform

// Config is the channels.form: section. (Stub: the web-form channel fills it in.)
type Config struct {
	Enabled *bool `yaml:"enabled"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Enabled == nil {
		t := true
		c.Enabled = &t
	}
}

// Validate checks the section; paths relative to "channels.form".
func (c *Config) Validate() error { return nil }
