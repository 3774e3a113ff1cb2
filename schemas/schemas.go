// Package schemas embeds the JSON Schemas of attrsync's public formats (the
// config file, accepted event shapes, the DLQ record) so the binary validates
// against exactly the files published in this directory.
package schemas

import "embed"

// FS holds every *.json schema in this directory, by file name
// (e.g. "config.schema.json").
//
//go:embed *.json
var FS embed.FS
