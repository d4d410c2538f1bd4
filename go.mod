module kdive

go 1.26.8

require (
	github.com/anchore/go-lzo v0.1.1 // indirect
	github.com/chzyer/readline v1.5.1 // indirect
	github.com/cilium/ebpf v0.22.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	golang.org/x/arch v0.32.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)
