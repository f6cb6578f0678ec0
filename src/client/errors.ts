// The one error the client throws: an answer that is not a success (the service's
// `{error, message}` body, or a proxy's), or a request that got no answer at all.

export class EmerFlowError extends Error {
  override readonly name = 'EmerFlowError';
  constructor(
    /** The HTTP status; 0 when no answer came (connection refused or reset, timeout). */
    readonly status: number,
    /** The service's error code (`not_found`, `batch_too_large`, …); `network_error`, `timeout` or `bad_response` from the client. */
    readonly code: string,
    message: string,
    /** The `x-request-id` the request was sent with: the service logs it with everything the request did. */
    readonly requestId: string,
    /** The whole error body, with any extra fields (e.g. the item's `state` of `no_embedding_yet`). */
    readonly body: Readonly<Record<string, unknown>> | null = null,
  ) {
    super(message);
  }
}

/** True for an EmerFlowError with one of these statuses (e.g. isStatus(err, 404)). */
export const isStatus = (err: unknown, ...statuses: number[]): err is EmerFlowError =>
  err instanceof EmerFlowError && statuses.includes(err.status);
