package diskdump

import (
	"container/list"
	"sync"
)

// pageCache is a small LRU of decoded pages, safe for concurrent use. Pages
// are never modified once cached, so readers copy from them unlocked.
type pageCache struct {
	mu  sync.Mutex
	max int
	m   map[uint64]*list.Element
	l   list.List // front: most recent; values *cacheEntry
}

type cacheEntry struct {
	pfn  uint64
	page []byte
}

func newPageCache(n int) *pageCache {
	return &pageCache{max: n, m: make(map[uint64]*list.Element, n)}
}

func (c *pageCache) get(pfn uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[pfn]; ok {
		c.l.MoveToFront(e)
		return e.Value.(*cacheEntry).page
	}
	return nil
}

func (c *pageCache) put(pfn uint64, page []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[pfn]; ok {
		c.l.MoveToFront(e)
		return
	}
	if c.l.Len() >= c.max {
		old := c.l.Back()
		c.l.Remove(old)
		delete(c.m, old.Value.(*cacheEntry).pfn)
	}
	c.m[pfn] = c.l.PushFront(&cacheEntry{pfn: pfn, page: page})
}

func (c *pageCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = make(map[uint64]*list.Element)
	c.l.Init()
}
