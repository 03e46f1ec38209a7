# In the style of the 2009 djng examples (simonw/djng): the same calls, written anew.
import djng

class RestView(object):
    """Send each request to the method named after its HTTP verb."""
    def __call__(self, request, *args, **kwargs):
        handler = getattr(self, request.method.upper(), None)
        if handler is None:
            return self.unsupported(request)
        return handler(request, *args, **kwargs)

    @staticmethod
    def unsupported(request):
        return djng.Response('Sorry, %s is not handled here' % request.method)


class Thing(RestView):
    @staticmethod
    def GET(request):
        return djng.Response('Reading the thing')

    @staticmethod
    def POST(request):
        return djng.Response('Creating a thing')

if __name__ == '__main__':
    djng.serve(Thing(), '0.0.0.0', 8888)
