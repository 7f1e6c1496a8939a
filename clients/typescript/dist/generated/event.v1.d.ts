/**
 * One event per (source, task, status); fields a later receiver adds are allowed.
 */
export interface VideohooksCanonicalEventV1 {
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
    schema_version: 1;
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
export interface Asset {
    expires_at: string | null;
    /**
     * video, ...
     */
    kind: string;
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
