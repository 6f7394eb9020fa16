package reader

// LZ4_RAW column chunks are decompressed here, not by parquet-go.
//
// parquet-go v0.32.0 loses the data of LZ4_RAW pages that do not compress
// well. Column.decompress takes a pooled buffer of the page's uncompressed
// size and calls the codec's Decode with it; lz4.Codec.Decode first
// reserves 3× the compressed size, and when the buffer's capacity is
// smaller it decodes into a new slice instead. decompress only looks at the
// length of what Decode returns: shorter than the page, it shortens its
// buffer; longer, it adopts the new slice; of exactly the page's size (every
// page that decodes correctly) it keeps its own buffer, which holds zeros or
// the bytes of an earlier page. A page of random probabilities (LZ4 cannot
// shrink float bits) is thus read as garbage: DuckDB's and Polars' LZ4 files
// fail with "decoding level expected N values but got only 0" from 1000
// rows up, and a page that happens to hold plausible stale bytes would be
// read as wrong values without an error. Decode also doubles its buffer
// without end on corrupt input.
//
// openParquet has the footer parquet-go sees mark these chunks UNCOMPRESSED
// (patchFooter), puts their real codec back into the decoded metadata, and
// reads their pages with lz4Pages: each page is decompressed into a buffer
// of exactly its stated size and handed, decompressed, to the column's own
// page decoders.

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// parquet-go's page header types wrap one unexported pointer to the format
// struct, and it has no exported constructor for them; these build them.
// TestLZ4HeaderLayout checks that the layout is still what this assumes.
func v1Header(h *format.DataPageHeader) parquet.DataPageHeaderV1 {
	return *(*parquet.DataPageHeaderV1)(unsafe.Pointer(&h))
}

func v2Header(h *format.DataPageHeaderV2) parquet.DataPageHeaderV2 {
	return *(*parquet.DataPageHeaderV2)(unsafe.Pointer(&h))
}

func dictHeader(h *format.DictionaryPageHeader) parquet.DictionaryPageHeader {
	return *(*parquet.DictionaryPageHeader)(unsafe.Pointer(&h))
}

func init() {
	const p = unsafe.Sizeof(uintptr(0))
	if unsafe.Sizeof(parquet.DataPageHeaderV1{}) != p || unsafe.Sizeof(parquet.DataPageHeaderV2{}) != p ||
		unsafe.Sizeof(parquet.DictionaryPageHeader{}) != p {
		panic("reader: parquet-go's page header types changed; see parquet_lz4.go")
	}
}

// lz4Pages reads the pages of an LZ4_RAW column chunk (a parquet.Pages).
// The chunk's page headers have been checked (checkChunk) before it is read.
type lz4Pages struct {
	f        *pqFile
	col      *parquet.Column
	pos, end int64
	dict     parquet.Dictionary
	hdr, raw []byte
	page     int
}

func (f *pqFile) lz4Pages(rg, leaf int) *lz4Pages {
	cm := &f.pf.Metadata().RowGroups[rg].Columns[leaf].MetaData
	start := cm.DataPageOffset
	if cm.DictionaryPageOffset != 0 {
		start = cm.DictionaryPageOffset
	}
	return &lz4Pages{f: f, col: f.leafCols[leaf], pos: start, end: start + cm.TotalCompressedSize}
}

func (p *lz4Pages) Close() error { return nil }

func (p *lz4Pages) SeekToRow(int64) error {
	return errors.New("seeking in an LZ4_RAW column chunk is not supported")
}

func (p *lz4Pages) ReadPage() (parquet.Page, error) {
	for p.pos < p.end {
		var h format.PageHeader
		if err := p.header(&h); err != nil {
			return nil, fmt.Errorf("page %d: %w", p.page, err)
		}
		n := int64(h.CompressedPageSize)
		if n < 0 || n > p.end-p.pos || h.UncompressedPageSize < 0 {
			return nil, fmt.Errorf("page %d: corrupt page sizes", p.page)
		}
		p.raw = grow(p.raw[:0], int(n))
		if k, err := p.f.ra.ReadAt(p.raw, p.pos); int64(k) != n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("page %d: reading page data: %w", p.page, err)
		}
		p.pos += n
		page := p.page
		p.page++
		if h.CRC != 0 && uint32(h.CRC) != crc32.ChecksumIEEE(p.raw) {
			return nil, fmt.Errorf("page %d: CRC mismatch: the page data is corrupt", page)
		}
		switch h.Type {
		case format.DictionaryPage:
			if !h.DictionaryPageHeader.Valid {
				return nil, fmt.Errorf("page %d: dictionary page without its header", page)
			}
			body, err := inflateLZ4(p.raw, int(h.UncompressedPageSize))
			if err != nil {
				return nil, fmt.Errorf("page %d: %w", page, err)
			}
			d, err := p.col.DecodeDictionary(dictHeader(&h.DictionaryPageHeader.V), body)
			if err != nil {
				return nil, fmt.Errorf("page %d: decoding dictionary: %w", page, err)
			}
			p.dict = d
		case format.DataPage:
			if !h.DataPageHeader.Valid {
				return nil, fmt.Errorf("page %d: data page without its header", page)
			}
			body, err := inflateLZ4(p.raw, int(h.UncompressedPageSize))
			if err != nil {
				return nil, fmt.Errorf("page %d: %w", page, err)
			}
			if err := p.needDict(h.DataPageHeader.V.Encoding); err != nil {
				return nil, fmt.Errorf("page %d: %w", page, err)
			}
			pg, err := p.col.DecodeDataPageV1(v1Header(&h.DataPageHeader.V), body, p.dict)
			if err != nil {
				return nil, fmt.Errorf("decoding page %d: %w", page, err)
			}
			return pg, nil
		case format.DataPageV2:
			if !h.DataPageHeaderV2.Valid {
				return nil, fmt.Errorf("page %d: data page without its header", page)
			}
			v := &h.DataPageHeaderV2.V
			levels := int(v.RepetitionLevelsByteLength) + int(v.DefinitionLevelsByteLength)
			if levels < 0 || levels > len(p.raw) || levels > int(h.UncompressedPageSize) {
				return nil, fmt.Errorf("page %d: level lengths exceed the page", page)
			}
			body := p.raw
			if !v.IsCompressed.Valid || v.IsCompressed.V {
				data, err := inflateLZ4(p.raw[levels:], int(h.UncompressedPageSize)-levels)
				if err != nil {
					return nil, fmt.Errorf("page %d: %w", page, err)
				}
				body = append(bytes.Clone(p.raw[:levels]), data...)
			} else {
				body = bytes.Clone(p.raw)
			}
			if err := p.needDict(v.Encoding); err != nil {
				return nil, fmt.Errorf("page %d: %w", page, err)
			}
			pg, err := p.col.DecodeDataPageV2(v2Header(v), body, p.dict)
			if err != nil {
				return nil, fmt.Errorf("decoding page %d: %w", page, err)
			}
			return pg, nil
		}
		// Index pages (and others checkChunk let through) are skipped.
	}
	return nil, io.EOF
}

// needDict checks that a dictionary-encoded page has a dictionary before it.
func (p *lz4Pages) needDict(enc format.Encoding) error {
	if (enc == format.PlainDictionary || enc == format.RLEDictionary) && p.dict == nil {
		return errors.New("dictionary-encoded page without a dictionary page")
	}
	return nil
}

// header decodes the page header at p.pos and moves past it.
func (p *lz4Pages) header(h *format.PageHeader) error {
	for window := int64(1024); ; window *= 4 {
		w := min(window, p.end-p.pos)
		p.hdr = grow(p.hdr[:0], int(w))
		if k, err := p.f.ra.ReadAt(p.hdr, p.pos); int64(k) != w {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading page header: %w", err)
		}
		_, n, err := parsePageHeader(p.hdr)
		if err == errThriftShort && w < p.end-p.pos && window < 64<<20 {
			continue
		}
		if err != nil {
			return fmt.Errorf("corrupt page header: %w", err)
		}
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), p.hdr[:n], h); err != nil {
			return fmt.Errorf("corrupt page header: %w", err)
		}
		p.pos += int64(n)
		return nil
	}
}

// inflateLZ4 decompresses an LZ4_RAW block that must hold exactly size
// bytes into a new buffer (the page decoders keep references into it).
func inflateLZ4(src []byte, size int) ([]byte, error) {
	dst := make([]byte, size)
	if size == 0 && len(src) <= 1 {
		return dst, nil // an empty block: one zero token, or nothing
	}
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return nil, fmt.Errorf("corrupt LZ4_RAW data or more than the %d bytes the page claims: %w", size, err)
	}
	if n != size {
		return nil, fmt.Errorf("corrupt LZ4_RAW data: %d bytes where the page claims %d", n, size)
	}
	return dst, nil
}
