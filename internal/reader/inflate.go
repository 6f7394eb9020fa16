package reader

// Limits on decompression: what a compressed Parquet page or Arrow IPC
// buffer may claim, and checks that a Parquet page decompresses to no more
// than it claims.
//
// The bound. A file may make evalnll allocate in proportion to the bytes it
// really holds, never in proportion to what it merely claims. Uncompressed
// data is already held to that: its sizes must fit in the file. Compressed
// data may decompress to
//
//	max(MaxBatchBytes/inflateFreeDiv, inflateRatio × compressed bytes)
//
// (and never more than MaxBatchBytes): 32 MiB whatever the ratio, and beyond
// that at most 64 times the compressed bytes, counted per Parquet page and
// per Arrow record batch body (so a constant column next to ordinary ones
// does not trip it). A tiny hostile file can then cost 32 MiB per page or
// batch in flight, and a larger one 64 times its size; real prediction data
// (float probabilities and logits) compresses 1-4 times, and SNAPPY cannot
// exceed about 21 times at all, so the 160 MB SNAPPY pages DuckDB writes and
// the 490 MB uncompressed record batches Polars writes pass untouched. A
// ratio bound is needed because ZSTD, GZIP and BROTLI have no useful maximum
// expansion (ZSTD turns a few KB into hundreds of MB of zeros); a larger
// --max-batch-bytes raises the 32 MiB allowance along with it.
//
// Keeping to the claim. arrow-go decompresses an IPC buffer into exactly the
// size it claims, so for Arrow the claims are all there is to check. The
// Parquet decoder does not: ZSTD, GZIP and BROTLI pages decompress to
// whatever the stream holds, SNAPPY allocates the length in its own header,
// and LZ4_RAW doubles its buffer without end on corrupt input (found by
// FuzzParquet: 1 KB made it allocate 32 GiB). So before the decoder sees a
// compressed page, checkPageData decompresses it once into a counter (ZSTD,
// GZIP, BROTLI; at most the claim plus one byte), reads the SNAPPY header, or
// decompresses an LZ4_RAW block into a buffer of the claimed size, and
// refuses a page that does not keep to its claim. This costs a second
// decompression of ZSTD, GZIP, BROTLI and LZ4_RAW pages; SNAPPY costs nothing.

import (
	"bytes"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

const (
	inflateFreeDiv = 32 // MaxBatchBytes/32 may come from any compressed size
	inflateRatio   = 64 // beyond it, at most 64 bytes per compressed byte
)

// inflateLimit is the most that compressed bytes of a page or batch body may
// decompress to under the limit maxBatch (Options.MaxBatchBytes).
func inflateLimit(maxBatch, compressed int64) int64 {
	if compressed >= maxBatch/inflateRatio {
		return maxBatch
	}
	return max(maxBatch/inflateFreeDiv, inflateRatio*max(compressed, 0))
}

// checkInflate checks a claim of uncompressed bytes from compressed bytes;
// what names the page or batch for the message.
func checkInflate(what string, claimed, compressed, maxBatch int64) error {
	if lim := inflateLimit(maxBatch, compressed); claimed > lim {
		return fmt.Errorf("%s claims %d bytes uncompressed from %d compressed, over the limit of %d bytes (%d MiB, or %d times the compressed size, from --max-batch-bytes %d): refusing a possible decompression bomb; a larger --max-batch-bytes raises the limit",
			what, claimed, compressed, lim, maxBatch/inflateFreeDiv>>20, inflateRatio, maxBatch)
	}
	return nil
}

// checkPageData checks that the compressed data of a Parquet page (body)
// decompresses, with the codec the decoder will use, to at most claimed
// bytes. For SNAPPY, body need only hold the first 10 bytes.
func checkPageData(codec format.CompressionCodec, body []byte, claimed int64) error {
	var r io.Reader
	switch codec {
	case format.Snappy:
		n, err := snappy.DecodedLen(body)
		if err != nil {
			return fmt.Errorf("corrupt SNAPPY data: %w", err)
		}
		if int64(n) > claimed {
			return fmt.Errorf("SNAPPY data of %d bytes uncompressed in a page that claims %d", n, claimed)
		}
		return nil
	case format.Lz4Raw:
		// Exactly what the decoder does first, with a buffer of the claimed
		// size: it fails when the block is corrupt or larger.
		buf := make([]byte, claimed)
		if _, err := lz4.UncompressBlock(body, buf); err != nil {
			return fmt.Errorf("corrupt LZ4_RAW data or more than the %d bytes the page claims: %w", claimed, err)
		}
		return nil
	case format.Zstd:
		// The window bounds the decoder's memory; encoders size it to the
		// data, rounded up to a power of two.
		window := uint64(8 << 20)
		for int64(window) < 2*claimed {
			window *= 2
		}
		d, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(window))
		if err != nil {
			return fmt.Errorf("corrupt ZSTD data: %w", err)
		}
		defer d.Close()
		r = d
	case format.Gzip:
		z, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("corrupt GZIP data: %w", err)
		}
		r = z
	case format.Brotli:
		r = brotli.NewReader(bytes.NewReader(body))
	default:
		return nil
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, claimed+1))
	switch {
	case n > claimed:
		return fmt.Errorf("%s data decompresses to more than the %d bytes the page claims", codec, claimed)
	case err != nil:
		return fmt.Errorf("corrupt %s data: %w", codec, err)
	}
	return nil
}
