# In the style of the 2009 djng examples (simonw/djng): the same calls, written anew.
import djng

LINE = 'All work and no play makes djng a dull framework. '

def plain(request):
    return djng.Response(LINE * 50)

def squeezed(request):
    return djng.Response(LINE.upper() * 50)

# Only the second route is wrapped, so only it is ever compressed
site = djng.Router(
    (r'^plain$', plain),
    (r'^squeezed$', djng.middleware.GZip(squeezed)),
)

if __name__ == '__main__':
    djng.serve(site, '0.0.0.0', 8888)
