// The errors the server answers with, in OpenAI's error shape ({error: {message, type, param,
// code}}) and with the HTTP status that says who must act: 400 a bad request, 404 an unknown
// model or route, 413 a body too large, 429 too many requests at once, 503 shutting down. It
// builds bodies only; the app (app.ts) sends them.

export type ApiErrorType = 'invalid_request_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends Error {
  constructor(readonly status: 400 | 404 | 413 | 429 | 500 | 503, message: string, readonly type: ApiErrorType = 'invalid_request_error',
    readonly param: string | null = null) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: ApiErrorType; param: string | null; code: number } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.status } };
  }
}

/** A 400 naming the request field at fault. */
export function badParam(param: string, message: string): ApiError {
  return new ApiError(400, `${param}: ${message}`, 'invalid_request_error', param);
}
