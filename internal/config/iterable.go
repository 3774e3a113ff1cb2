package config

import "strings"

// Iterable API base URLs per data-centre region.
const (
	baseURLUS = "https://api.iterable.com"
	baseURLEU = "https://api.eu.iterable.com"
)

// IterableBaseURL is the API root requests go to, without a trailing slash:
// iterable.base_url when set (the local simulator, a proxy), else the URL of
// iterable.region.
func (c *Config) IterableBaseURL() string {
	if c.Iterable.BaseURL != "" {
		return strings.TrimRight(c.Iterable.BaseURL, "/")
	}
	if c.Iterable.Region == "eu" {
		return baseURLEU
	}
	return baseURLUS
}
