package dev.panavisor.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The refusals Jetty makes before a request reaches {@link ApiRoutes}, in the body every other refusal of the API
 * has, Firecracker's {@code {"fault_message": "..."}}, and not Jetty's HTML page: a request line or header it cannot
 * parse (400), headers or a path longer than its buffers (431, 414), a body that stops arriving (the connection's
 * idle timeout). The status is Jetty's.
 */
final class FaultErrorHandler extends ErrorHandler {
    /** Every method gets the body: Jetty writes one only for GET, POST and HEAD, and the API's are PUTs and PATCHes. */
    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    /** A request Jetty could read, then refused or failed on. */
    @Override
    protected void generateResponse(Request request, Response response, int status, String message, Throwable cause,
            Callback callback) throws IOException {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, body(status, message), callback);
    }

    /** Bytes Jetty could not parse as a request at all. */
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return body(status, reason);
    }

    private static ByteBuffer body(int status, String message) {
        String text = message == null || message.isBlank() ? HttpStatus.getMessage(status) : message;
        return ByteBuffer.wrap(ApiRoutes.Reply.fault(status, text).json().getBytes(StandardCharsets.UTF_8));
    }
}
