/**
 * One event per (source, task, status); fields a later receiver adds are allowed.
 */
export interface VideohooksCanonicalEventV2 {
    assets: Asset[];
    delivery_id: string | null;
    error: Error | null;
    event_id: string;
    extensions: {
        [k: string]: unknown;
    };
    model: string | null;
    occurred_at: string | null;
    provider: string;
    received_at: string;
    schema_version: 2;
    segments: Segment[];
    source: string;
    status: 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'suspended';
    task_id: string;
    task_type: 'description' | 'analysis' | 'generation' | 'indexing';
    text: string | null;
    title: string | null;
    truncated: boolean;
    usage: Usage;
    [k: string]: unknown;
}
/**
 * A generated file: the provider's, or the receiver's stored copy of it (then with its sha256).
 */
export interface Asset {
    /**
     * Size of the stored copy
     */
    bytes: number | null;
    /**
     * Of the stored copy
     */
    content_type: string | null;
    expires_at: string | null;
    /**
     * video, ...
     */
    kind: string;
    /**
     * Of the stored copy, lowercase hex
     */
    sha256: string | null;
    /**
     * The provider's URL; null for inline media
     */
    source_url: string | null;
    url: string | null;
    [k: string]: unknown;
}
export interface Error {
    code: string | null;
    message: string;
    [k: string]: unknown;
}
/**
 * A span of the video, in milliseconds from its start.
 */
export interface Segment {
    end_ms: number;
    /**
     * description, shot, caption, ...
     */
    kind: string;
    start_ms: number;
    text: string;
    [k: string]: unknown;
}
export interface Usage {
    input_tokens: number | null;
    output_tokens: number | null;
    processing_ms: number | null;
    total_tokens: number | null;
    [k: string]: unknown;
}
