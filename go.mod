module kdive

go 1.26.8

require (
	github.com/chzyer/readline v1.5.1
	github.com/cilium/ebpf v0.22.0
)

require (
	github.com/anchore/go-lzo v0.1.1
	github.com/klauspost/compress v1.20.3
	golang.org/x/sys v0.43.0
)

require golang.org/x/arch v0.32.0

require github.com/ulikunitz/xz v0.5.17 // indirect
