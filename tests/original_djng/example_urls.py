# In the style of the 2009 djng examples (simonw/djng): the same calls, written anew.
import djng

def broken(request):
    raise RuntimeError('this view always fails')

site = djng.ErrorWrapper(
    djng.Router(
        (r'^morning$', lambda request: djng.Response('Good morning')),
        (r'^evening$', lambda request: djng.Response('Good evening')),
        (r'^broken$', broken),
    ),
    custom_404 = lambda request: djng.Response('Nothing lives here', status=404),
    custom_500 = lambda request: djng.Response('Something went wrong', status=500)
)

if __name__ == '__main__':
    djng.serve(site, '0.0.0.0', 8888)
