# In the style of the 2009 djng examples (simonw/djng): the same calls, written anew.
import djng

def home(request):
    return djng.Response("""
    <h1>Two little forms</h1>
    <form method="get" action="/find/">
        <label>Look for <input name="term"></label>
        <button>Find</button>
    </form>
    <form method="post" action="/shout/">
        <label>Say something <input name="words"></label>
        <button>Shout it</button>
    </form>
    """)

def find(request):
    term = request.GET.get('term', '(nothing)')
    return djng.Response('You looked for: ' + djng.escape(term))

def shout(request):
    words = request.POST.get('words', '')
    # Escape after upper-casing, so the entities stay lower case
    return djng.Response(djng.escape(words.upper() + '!'))

site = djng.Router(
    (r'^$', home),
    (r'^find/$', find),
    (r'^shout/$', shout),
)

if __name__ == '__main__':
    djng.serve(site, '0.0.0.0', 8888)
