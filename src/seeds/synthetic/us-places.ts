/**
 * An embedded table of real US cities and towns (all 50 states and DC), used to place synthetic Locations.
 * Typed in from general knowledge: city, USPS state, a real ZIP code in the city, county name and 5-digit county
 * FIPS (2017 vintage, as used by shared/adequacy/county-designations.csv, including Connecticut's legacy counties
 * and Oglala Lakota SD = 46113), city-centre latitude/longitude (WGS84, about ±0.05°), an approximate population
 * in thousands (used only as a sampling weight) and the main telephone area code.
 * The list mixes large metros with small towns in rural and frontier counties so that network-adequacy
 * analyses see every county designation (Large Metro … CEAC). Every FIPS code was checked against the county
 * list (state and county name); coordinates are city centres, not geocoded addresses.
 */

export interface UsPlace {
  city: string;
  /** USPS state code */
  state: string;
  zip: string;
  county: string;
  /** 5-digit county FIPS (2017 vintage) */
  countyFips: string;
  lat: number;
  lon: number;
  /** approximate population, thousands (sampling weight only) */
  population: number;
  areaCode: string;
}

export interface UsState {
  code: string;
  name: string;
  fips: string;
}

export const US_STATES: readonly UsState[] = [
  { code: 'AL', name: 'Alabama', fips: '01' },
  { code: 'AK', name: 'Alaska', fips: '02' },
  { code: 'AZ', name: 'Arizona', fips: '04' },
  { code: 'AR', name: 'Arkansas', fips: '05' },
  { code: 'CA', name: 'California', fips: '06' },
  { code: 'CO', name: 'Colorado', fips: '08' },
  { code: 'CT', name: 'Connecticut', fips: '09' },
  { code: 'DE', name: 'Delaware', fips: '10' },
  { code: 'DC', name: 'District of Columbia', fips: '11' },
  { code: 'FL', name: 'Florida', fips: '12' },
  { code: 'GA', name: 'Georgia', fips: '13' },
  { code: 'HI', name: 'Hawaii', fips: '15' },
  { code: 'ID', name: 'Idaho', fips: '16' },
  { code: 'IL', name: 'Illinois', fips: '17' },
  { code: 'IN', name: 'Indiana', fips: '18' },
  { code: 'IA', name: 'Iowa', fips: '19' },
  { code: 'KS', name: 'Kansas', fips: '20' },
  { code: 'KY', name: 'Kentucky', fips: '21' },
  { code: 'LA', name: 'Louisiana', fips: '22' },
  { code: 'ME', name: 'Maine', fips: '23' },
  { code: 'MD', name: 'Maryland', fips: '24' },
  { code: 'MA', name: 'Massachusetts', fips: '25' },
  { code: 'MI', name: 'Michigan', fips: '26' },
  { code: 'MN', name: 'Minnesota', fips: '27' },
  { code: 'MS', name: 'Mississippi', fips: '28' },
  { code: 'MO', name: 'Missouri', fips: '29' },
  { code: 'MT', name: 'Montana', fips: '30' },
  { code: 'NE', name: 'Nebraska', fips: '31' },
  { code: 'NV', name: 'Nevada', fips: '32' },
  { code: 'NH', name: 'New Hampshire', fips: '33' },
  { code: 'NJ', name: 'New Jersey', fips: '34' },
  { code: 'NM', name: 'New Mexico', fips: '35' },
  { code: 'NY', name: 'New York', fips: '36' },
  { code: 'NC', name: 'North Carolina', fips: '37' },
  { code: 'ND', name: 'North Dakota', fips: '38' },
  { code: 'OH', name: 'Ohio', fips: '39' },
  { code: 'OK', name: 'Oklahoma', fips: '40' },
  { code: 'OR', name: 'Oregon', fips: '41' },
  { code: 'PA', name: 'Pennsylvania', fips: '42' },
  { code: 'RI', name: 'Rhode Island', fips: '44' },
  { code: 'SC', name: 'South Carolina', fips: '45' },
  { code: 'SD', name: 'South Dakota', fips: '46' },
  { code: 'TN', name: 'Tennessee', fips: '47' },
  { code: 'TX', name: 'Texas', fips: '48' },
  { code: 'UT', name: 'Utah', fips: '49' },
  { code: 'VT', name: 'Vermont', fips: '50' },
  { code: 'VA', name: 'Virginia', fips: '51' },
  { code: 'WA', name: 'Washington', fips: '53' },
  { code: 'WV', name: 'West Virginia', fips: '54' },
  { code: 'WI', name: 'Wisconsin', fips: '55' },
  { code: 'WY', name: 'Wyoming', fips: '56' },
];

// city|state|zip|county|countyFips|lat|lon|population(thousands)|areaCode
const PLACE_DATA = `
Birmingham|AL|35203|Jefferson|01073|33.5186|-86.8104|200|205
Montgomery|AL|36104|Montgomery|01101|32.3668|-86.3000|200|334
Mobile|AL|36602|Mobile|01097|30.6954|-88.0399|187|251
Huntsville|AL|35801|Madison|01089|34.7304|-86.5861|215|256
Tuscaloosa|AL|35401|Tuscaloosa|01125|33.2098|-87.5692|100|205
Dothan|AL|36301|Houston|01069|31.2232|-85.3905|70|334
Selma|AL|36701|Dallas|01047|32.4074|-87.0211|18|334
Anchorage|AK|99501|Anchorage|02020|61.2181|-149.9003|290|907
Fairbanks|AK|99701|Fairbanks North Star|02090|64.8378|-147.7164|32|907
Juneau|AK|99801|Juneau|02110|58.3019|-134.4197|32|907
Bethel|AK|99559|Bethel|02050|60.7922|-161.7558|6|907
Ketchikan|AK|99901|Ketchikan Gateway|02130|55.3422|-131.6461|8|907
Phoenix|AZ|85004|Maricopa|04013|33.4484|-112.0740|1600|602
Tucson|AZ|85701|Pima|04019|32.2226|-110.9747|540|520
Mesa|AZ|85201|Maricopa|04013|33.4152|-111.8315|500|480
Flagstaff|AZ|86001|Coconino|04005|35.1983|-111.6513|76|928
Yuma|AZ|85364|Yuma|04027|32.6927|-114.6277|95|928
Prescott|AZ|86301|Yavapai|04025|34.5400|-112.4685|45|928
Show Low|AZ|85901|Navajo|04017|34.2542|-110.0298|11|928
Little Rock|AR|72201|Pulaski|05119|34.7465|-92.2896|200|501
Fayetteville|AR|72701|Washington|05143|36.0626|-94.1574|95|479
Fort Smith|AR|72901|Sebastian|05131|35.3859|-94.3985|89|479
Jonesboro|AR|72401|Craighead|05031|35.8423|-90.7043|78|870
Pine Bluff|AR|71601|Jefferson|05069|34.2284|-92.0032|41|870
Harrison|AR|72601|Boone|05009|36.2298|-93.1077|13|870
Los Angeles|CA|90012|Los Angeles|06037|34.0522|-118.2437|3900|213
San Diego|CA|92101|San Diego|06073|32.7157|-117.1611|1380|619
San Jose|CA|95113|Santa Clara|06085|37.3382|-121.8863|1000|408
San Francisco|CA|94102|San Francisco|06075|37.7749|-122.4194|870|415
Fresno|CA|93721|Fresno|06019|36.7378|-119.7871|540|559
Sacramento|CA|95814|Sacramento|06067|38.5816|-121.4944|520|916
Long Beach|CA|90802|Los Angeles|06037|33.7701|-118.1937|460|562
Oakland|CA|94612|Alameda|06001|37.8044|-122.2712|430|510
Bakersfield|CA|93301|Kern|06029|35.3733|-119.0187|400|661
Anaheim|CA|92805|Orange|06059|33.8366|-117.9143|350|714
Riverside|CA|92501|Riverside|06065|33.9806|-117.3755|320|951
Stockton|CA|95202|San Joaquin|06077|37.9577|-121.2908|320|209
Irvine|CA|92614|Orange|06059|33.6846|-117.8265|300|949
Santa Rosa|CA|95404|Sonoma|06097|38.4404|-122.7141|178|707
San Bernardino|CA|92401|San Bernardino|06071|34.1083|-117.2898|220|909
Modesto|CA|95354|Stanislaus|06099|37.6391|-120.9969|218|209
Salinas|CA|93901|Monterey|06053|36.6777|-121.6555|160|831
Visalia|CA|93291|Tulare|06107|36.3302|-119.2921|140|559
San Luis Obispo|CA|93401|San Luis Obispo|06079|35.2828|-120.6596|47|805
Santa Barbara|CA|93101|Santa Barbara|06083|34.4208|-119.6982|88|805
Chico|CA|95928|Butte|06007|39.7285|-121.8375|100|530
Redding|CA|96001|Shasta|06089|40.5865|-122.3917|93|530
Eureka|CA|95501|Humboldt|06023|40.8021|-124.1637|27|707
El Centro|CA|92243|Imperial|06025|32.7920|-115.5631|44|760
Bishop|CA|93514|Inyo|06027|37.3635|-118.3951|4|760
Denver|CO|80202|Denver|08031|39.7392|-104.9903|715|303
Colorado Springs|CO|80903|El Paso|08041|38.8339|-104.8214|480|719
Aurora|CO|80012|Arapahoe|08005|39.7294|-104.8319|390|303
Fort Collins|CO|80524|Larimer|08069|40.5853|-105.0844|170|970
Pueblo|CO|81003|Pueblo|08101|38.2544|-104.6091|112|719
Grand Junction|CO|81501|Mesa|08077|39.0639|-108.5506|65|970
Durango|CO|81301|La Plata|08067|37.2753|-107.8801|19|970
Alamosa|CO|81101|Alamosa|08003|37.4695|-105.8700|10|719
Sterling|CO|80751|Logan|08075|40.6255|-103.2077|14|970
Hartford|CT|06103|Hartford|09003|41.7658|-72.6734|121|860
New Haven|CT|06510|New Haven|09009|41.3083|-72.9279|135|203
Bridgeport|CT|06604|Fairfield|09001|41.1865|-73.1952|148|203
Stamford|CT|06901|Fairfield|09001|41.0534|-73.5387|135|203
Waterbury|CT|06702|New Haven|09009|41.5582|-73.0515|114|203
Norwich|CT|06360|New London|09011|41.5243|-72.0759|40|860
Torrington|CT|06790|Litchfield|09005|41.8007|-73.1212|35|860
Wilmington|DE|19801|New Castle|10003|39.7391|-75.5398|71|302
Dover|DE|19901|Kent|10001|39.1582|-75.5244|39|302
Georgetown|DE|19947|Sussex|10005|38.6901|-75.3855|7|302
Washington|DC|20001|District of Columbia|11001|38.9072|-77.0369|690|202
Jacksonville|FL|32202|Duval|12031|30.3322|-81.6557|950|904
Miami|FL|33130|Miami-Dade|12086|25.7617|-80.1918|440|305
Hialeah|FL|33010|Miami-Dade|12086|25.8576|-80.2781|220|305
Tampa|FL|33602|Hillsborough|12057|27.9506|-82.4572|390|813
Orlando|FL|32801|Orange|12095|28.5383|-81.3792|310|407
St. Petersburg|FL|33701|Pinellas|12103|27.7676|-82.6403|260|727
Tallahassee|FL|32301|Leon|12073|30.4383|-84.2807|196|850
Fort Lauderdale|FL|33301|Broward|12011|26.1224|-80.1373|182|954
West Palm Beach|FL|33401|Palm Beach|12099|26.7153|-80.0534|117|561
Gainesville|FL|32601|Alachua|12001|29.6516|-82.3248|141|352
Pensacola|FL|32502|Escambia|12033|30.4213|-87.2169|54|850
Fort Myers|FL|33901|Lee|12071|26.6406|-81.8723|92|239
Naples|FL|34102|Collier|12021|26.1420|-81.7948|20|239
Sarasota|FL|34236|Sarasota|12115|27.3364|-82.5307|57|941
Lakeland|FL|33801|Polk|12105|28.0395|-81.9498|115|863
Daytona Beach|FL|32114|Volusia|12127|29.2108|-81.0228|72|386
Ocala|FL|34471|Marion|12083|29.1872|-82.1401|63|352
Panama City|FL|32401|Bay|12005|30.1588|-85.6602|32|850
Key West|FL|33040|Monroe|12087|24.5551|-81.7800|26|305
Atlanta|GA|30303|Fulton|13121|33.7490|-84.3880|500|404
Marietta|GA|30060|Cobb|13067|33.9526|-84.5499|60|770
Augusta|GA|30901|Richmond|13245|33.4735|-82.0105|200|706
Columbus|GA|31901|Muscogee|13215|32.4610|-84.9877|206|706
Savannah|GA|31401|Chatham|13051|32.0809|-81.0912|147|912
Athens|GA|30601|Clarke|13059|33.9519|-83.3576|127|706
Macon|GA|31201|Bibb|13021|32.8407|-83.6324|157|478
Albany|GA|31701|Dougherty|13095|31.5785|-84.1557|69|229
Valdosta|GA|31601|Lowndes|13185|30.8327|-83.2785|55|229
Rome|GA|30161|Floyd|13115|34.2570|-85.1647|37|706
Waycross|GA|31501|Ware|13299|31.2136|-82.3540|13|912
Honolulu|HI|96813|Honolulu|15003|21.3069|-157.8583|350|808
Hilo|HI|96720|Hawaii|15001|19.7241|-155.0868|45|808
Kailua-Kona|HI|96740|Hawaii|15001|19.6400|-155.9969|20|808
Kahului|HI|96732|Maui|15009|20.8893|-156.4729|28|808
Lihue|HI|96766|Kauai|15007|21.9811|-159.3711|8|808
Boise|ID|83702|Ada|16001|43.6150|-116.2023|235|208
Idaho Falls|ID|83402|Bonneville|16019|43.4917|-112.0339|66|208
Pocatello|ID|83201|Bannock|16005|42.8713|-112.4455|56|208
Coeur d'Alene|ID|83814|Kootenai|16055|47.6777|-116.7805|54|208
Twin Falls|ID|83301|Twin Falls|16083|42.5630|-114.4609|51|208
Salmon|ID|83467|Lemhi|16059|45.1758|-113.8959|3|208
Chicago|IL|60602|Cook|17031|41.8781|-87.6298|2700|312
Evanston|IL|60201|Cook|17031|42.0451|-87.6877|75|847
Aurora|IL|60505|Kane|17089|41.7606|-88.3201|180|630
Naperville|IL|60540|DuPage|17043|41.7508|-88.1535|149|630
Joliet|IL|60432|Will|17197|41.5250|-88.0817|150|815
Rockford|IL|61101|Winnebago|17201|42.2711|-89.0940|148|815
Peoria|IL|61602|Peoria|17143|40.6936|-89.5890|113|309
Springfield|IL|62701|Sangamon|17167|39.7817|-89.6501|114|217
Champaign|IL|61820|Champaign|17019|40.1164|-88.2434|88|217
Quincy|IL|62301|Adams|17001|39.9356|-91.4099|40|217
Carbondale|IL|62901|Jackson|17077|37.7273|-89.2168|22|618
Mount Vernon|IL|62864|Jefferson|17081|38.3173|-88.9031|15|618
Indianapolis|IN|46204|Marion|18097|39.7684|-86.1581|880|317
Fort Wayne|IN|46802|Allen|18003|41.0793|-85.1394|265|260
Evansville|IN|47708|Vanderburgh|18163|37.9716|-87.5711|117|812
South Bend|IN|46601|St. Joseph|18141|41.6764|-86.2520|103|574
Gary|IN|46402|Lake|18089|41.5934|-87.3464|70|219
Bloomington|IN|47404|Monroe|18105|39.1653|-86.5264|85|812
Lafayette|IN|47901|Tippecanoe|18157|40.4167|-86.8753|70|765
Muncie|IN|47305|Delaware|18035|40.1934|-85.3864|65|765
Terre Haute|IN|47807|Vigo|18167|39.4667|-87.4139|59|812
Jasper|IN|47546|Dubois|18037|38.3914|-86.9311|16|812
Des Moines|IA|50309|Polk|19153|41.5868|-93.6250|214|515
Cedar Rapids|IA|52401|Linn|19113|41.9779|-91.6656|137|319
Davenport|IA|52801|Scott|19163|41.5236|-90.5776|101|563
Sioux City|IA|51101|Woodbury|19193|42.4963|-96.4049|85|712
Iowa City|IA|52240|Johnson|19103|41.6611|-91.5302|75|319
Waterloo|IA|50703|Black Hawk|19013|42.4928|-92.3426|68|319
Dubuque|IA|52001|Dubuque|19061|42.5006|-90.6646|59|563
Mason City|IA|50401|Cerro Gordo|19033|43.1536|-93.2010|27|641
Spencer|IA|51301|Clay|19041|43.1414|-95.1444|11|712
Wichita|KS|67202|Sedgwick|20173|37.6872|-97.3301|397|316
Overland Park|KS|66212|Johnson|20091|38.9822|-94.6708|197|913
Kansas City|KS|66101|Wyandotte|20209|39.1141|-94.6275|156|913
Topeka|KS|66603|Shawnee|20177|39.0473|-95.6752|126|785
Lawrence|KS|66044|Douglas|20045|38.9717|-95.2353|95|785
Salina|KS|67401|Saline|20169|38.8403|-97.6114|46|785
Hays|KS|67601|Ellis|20051|38.8792|-99.3268|21|785
Garden City|KS|67846|Finney|20055|37.9717|-100.8727|28|620
Dodge City|KS|67801|Ford|20057|37.7528|-100.0171|27|620
Louisville|KY|40202|Jefferson|21111|38.2527|-85.7585|620|502
Lexington|KY|40507|Fayette|21067|38.0406|-84.5037|320|859
Covington|KY|41011|Kenton|21117|39.0837|-84.5086|40|859
Bowling Green|KY|42101|Warren|21227|36.9685|-86.4808|72|270
Owensboro|KY|42301|Daviess|21059|37.7719|-87.1112|60|270
Paducah|KY|42001|McCracken|21145|37.0834|-88.6001|27|270
Pikeville|KY|41501|Pike|21195|37.4793|-82.5188|7|606
Hazard|KY|41701|Perry|21193|37.2495|-83.1932|5|606
New Orleans|LA|70112|Orleans|22071|29.9511|-90.0715|380|504
Baton Rouge|LA|70801|East Baton Rouge|22033|30.4515|-91.1871|225|225
Shreveport|LA|71101|Caddo|22017|32.5252|-93.7502|187|318
Lafayette|LA|70501|Lafayette|22055|30.2241|-92.0198|121|337
Lake Charles|LA|70601|Calcasieu|22019|30.2266|-93.2174|84|337
Monroe|LA|71201|Ouachita|22073|32.5093|-92.1193|47|318
Alexandria|LA|71301|Rapides|22079|31.3113|-92.4451|45|318
Houma|LA|70360|Terrebonne|22109|29.5958|-90.7195|33|985
Portland|ME|04101|Cumberland|23005|43.6591|-70.2568|68|207
Lewiston|ME|04240|Androscoggin|23001|44.1004|-70.2148|37|207
Bangor|ME|04401|Penobscot|23019|44.8012|-68.7778|32|207
Augusta|ME|04330|Kennebec|23011|44.3106|-69.7795|19|207
Presque Isle|ME|04769|Aroostook|23003|46.6812|-68.0159|9|207
Baltimore|MD|21202|Baltimore city|24510|39.2904|-76.6122|580|410
Towson|MD|21204|Baltimore|24005|39.4015|-76.6019|55|410
Silver Spring|MD|20910|Montgomery|24031|38.9907|-77.0261|80|301
Rockville|MD|20850|Montgomery|24031|39.0840|-77.1528|68|301
Frederick|MD|21701|Frederick|24021|39.4143|-77.4105|78|301
Annapolis|MD|21401|Anne Arundel|24003|38.9784|-76.4922|40|410
Hagerstown|MD|21740|Washington|24043|39.6418|-77.7200|43|301
Salisbury|MD|21801|Wicomico|24045|38.3607|-75.5994|33|410
Cumberland|MD|21502|Allegany|24001|39.6529|-78.7625|19|301
Boston|MA|02108|Suffolk|25025|42.3601|-71.0589|650|617
Cambridge|MA|02139|Middlesex|25017|42.3736|-71.1097|118|617
Lowell|MA|01852|Middlesex|25017|42.6334|-71.3162|115|978
Worcester|MA|01608|Worcester|25027|42.2626|-71.8023|206|508
Springfield|MA|01103|Hampden|25013|42.1015|-72.5898|155|413
Brockton|MA|02301|Plymouth|25023|42.0834|-71.0184|105|508
New Bedford|MA|02740|Bristol|25005|41.6362|-70.9342|101|508
Pittsfield|MA|01201|Berkshire|25003|42.4501|-73.2454|43|413
Hyannis|MA|02601|Barnstable|25001|41.6523|-70.2881|14|508
Detroit|MI|48226|Wayne|26163|42.3314|-83.0458|630|313
Southfield|MI|48075|Oakland|26125|42.4734|-83.2219|73|248
Warren|MI|48089|Macomb|26099|42.4775|-83.0277|139|586
Grand Rapids|MI|49503|Kent|26081|42.9634|-85.6681|198|616
Ann Arbor|MI|48104|Washtenaw|26161|42.2808|-83.7430|123|734
Lansing|MI|48933|Ingham|26065|42.7325|-84.5555|112|517
Flint|MI|48502|Genesee|26049|43.0125|-83.6875|81|810
Kalamazoo|MI|49007|Kalamazoo|26077|42.2917|-85.5872|74|269
Saginaw|MI|48607|Saginaw|26145|43.4195|-83.9508|44|989
Traverse City|MI|49684|Grand Traverse|26055|44.7631|-85.6206|16|231
Alpena|MI|49707|Alpena|26007|45.0617|-83.4327|10|989
Marquette|MI|49855|Marquette|26103|46.5436|-87.3954|20|906
Minneapolis|MN|55401|Hennepin|27053|44.9778|-93.2650|425|612
Saint Paul|MN|55102|Ramsey|27123|44.9537|-93.0900|310|651
Rochester|MN|55902|Olmsted|27109|44.0121|-92.4802|121|507
Duluth|MN|55802|St. Louis|27137|46.7867|-92.1005|87|218
St. Cloud|MN|56301|Stearns|27145|45.5579|-94.1632|69|320
Mankato|MN|56001|Blue Earth|27013|44.1636|-93.9994|44|507
Marshall|MN|56258|Lyon|27083|44.4469|-95.7884|13|507
Bemidji|MN|56601|Beltrami|27007|47.4736|-94.8803|15|218
Jackson|MS|39201|Hinds|28049|32.2988|-90.1848|150|601
Gulfport|MS|39501|Harrison|28047|30.3674|-89.0928|72|228
Hattiesburg|MS|39401|Forrest|28035|31.3271|-89.2903|48|601
Meridian|MS|39301|Lauderdale|28075|32.3643|-88.7037|35|601
Tupelo|MS|38804|Lee|28081|34.2576|-88.7034|38|662
Oxford|MS|38655|Lafayette|28071|34.3665|-89.5192|28|662
Greenville|MS|38701|Washington|28151|33.4101|-91.0618|29|662
Clarksdale|MS|38614|Coahoma|28027|34.2001|-90.5709|15|662
Kansas City|MO|64106|Jackson|29095|39.0997|-94.5786|508|816
Independence|MO|64050|Jackson|29095|39.0911|-94.4155|123|816
St. Louis|MO|63101|St. Louis city|29510|38.6270|-90.1994|300|314
Chesterfield|MO|63017|St. Louis|29189|38.6631|-90.5771|49|636
Springfield|MO|65806|Greene|29077|37.2090|-93.2923|169|417
Columbia|MO|65201|Boone|29019|38.9517|-92.3341|126|573
Joplin|MO|64801|Jasper|29097|37.0842|-94.5133|51|417
Cape Girardeau|MO|63701|Cape Girardeau|29031|37.3059|-89.5181|40|573
Poplar Bluff|MO|63901|Butler|29023|36.7570|-90.3929|17|573
Kirksville|MO|63501|Adair|29001|40.1948|-92.5832|17|660
Billings|MT|59101|Yellowstone|30111|45.7833|-108.5007|117|406
Missoula|MT|59802|Missoula|30063|46.8721|-113.9940|75|406
Great Falls|MT|59401|Cascade|30013|47.5053|-111.3008|60|406
Bozeman|MT|59715|Gallatin|30031|45.6770|-111.0429|53|406
Helena|MT|59601|Lewis and Clark|30049|46.5891|-112.0391|33|406
Kalispell|MT|59901|Flathead|30029|48.1920|-114.3168|25|406
Miles City|MT|59301|Custer|30017|46.4083|-105.8406|8|406
Omaha|NE|68102|Douglas|31055|41.2565|-95.9345|486|402
Lincoln|NE|68508|Lancaster|31109|40.8136|-96.7026|290|402
Grand Island|NE|68801|Hall|31079|40.9264|-98.3420|53|308
Kearney|NE|68847|Buffalo|31019|40.6993|-99.0832|34|308
North Platte|NE|69101|Lincoln|31111|41.1239|-100.7654|23|308
Scottsbluff|NE|69361|Scotts Bluff|31157|41.8666|-103.6672|15|308
Las Vegas|NV|89101|Clark|32003|36.1699|-115.1398|640|702
Henderson|NV|89002|Clark|32003|36.0395|-114.9817|320|702
Reno|NV|89501|Washoe|32031|39.5296|-119.8138|264|775
Carson City|NV|89701|Carson City|32510|39.1638|-119.7674|58|775
Elko|NV|89801|Elko|32007|40.8324|-115.7631|20|775
Ely|NV|89301|White Pine|32033|39.2474|-114.8886|4|775
Manchester|NH|03101|Hillsborough|33011|42.9956|-71.4548|115|603
Nashua|NH|03060|Hillsborough|33011|42.7654|-71.4676|91|603
Concord|NH|03301|Merrimack|33013|43.2081|-71.5376|44|603
Portsmouth|NH|03801|Rockingham|33015|43.0718|-70.7626|22|603
Lebanon|NH|03766|Grafton|33009|43.6423|-72.2518|14|603
Berlin|NH|03570|Coos|33007|44.4687|-71.1851|10|603
Newark|NJ|07102|Essex|34013|40.7357|-74.1724|311|973
Jersey City|NJ|07302|Hudson|34017|40.7178|-74.0431|290|201
Paterson|NJ|07505|Passaic|34031|40.9168|-74.1718|159|973
Hackensack|NJ|07601|Bergen|34003|40.8859|-74.0435|46|201
Morristown|NJ|07960|Morris|34027|40.7968|-74.4815|20|973
New Brunswick|NJ|08901|Middlesex|34023|40.4862|-74.4518|56|732
Trenton|NJ|08608|Mercer|34021|40.2171|-74.7429|90|609
Toms River|NJ|08753|Ocean|34029|39.9537|-74.1979|95|732
Camden|NJ|08102|Camden|34007|39.9259|-75.1196|71|856
Vineland|NJ|08360|Cumberland|34011|39.4864|-75.0260|60|856
Atlantic City|NJ|08401|Atlantic|34001|39.3643|-74.4229|38|609
Albuquerque|NM|87102|Bernalillo|35001|35.0844|-106.6504|560|505
Las Cruces|NM|88001|Dona Ana|35013|32.3199|-106.7637|111|575
Santa Fe|NM|87501|Santa Fe|35049|35.6870|-105.9378|88|505
Roswell|NM|88201|Chaves|35005|33.3943|-104.5230|48|575
Farmington|NM|87401|San Juan|35045|36.7281|-108.2187|46|505
Clovis|NM|88101|Curry|35009|34.4048|-103.2052|38|575
Gallup|NM|87301|McKinley|35031|35.5281|-108.7426|22|505
New York|NY|10007|New York|36061|40.7128|-74.0060|1600|212
Brooklyn|NY|11201|Kings|36047|40.6782|-73.9442|2600|718
Jamaica|NY|11432|Queens|36081|40.7027|-73.7890|2300|718
Bronx|NY|10451|Bronx|36005|40.8448|-73.8648|1400|718
Staten Island|NY|10301|Richmond|36085|40.6437|-74.0764|490|718
Yonkers|NY|10701|Westchester|36119|40.9312|-73.8988|211|914
Hempstead|NY|11550|Nassau|36059|40.7062|-73.6187|55|516
Riverhead|NY|11901|Suffolk|36103|40.9170|-72.6620|14|631
Buffalo|NY|14202|Erie|36029|42.8864|-78.8784|278|716
Rochester|NY|14604|Monroe|36055|43.1566|-77.6088|211|585
Syracuse|NY|13202|Onondaga|36067|43.0481|-76.1474|148|315
Albany|NY|12207|Albany|36001|42.6526|-73.7562|99|518
Utica|NY|13501|Oneida|36065|43.1009|-75.2327|65|315
Binghamton|NY|13901|Broome|36007|42.0987|-75.9180|47|607
Elmira|NY|14901|Chemung|36015|42.0898|-76.8077|26|607
Watertown|NY|13601|Jefferson|36045|43.9748|-75.9108|25|315
Plattsburgh|NY|12901|Clinton|36019|44.6995|-73.4529|20|518
Olean|NY|14760|Cattaraugus|36009|42.0776|-78.4297|14|716
Charlotte|NC|28202|Mecklenburg|37119|35.2271|-80.8431|880|704
Raleigh|NC|27601|Wake|37183|35.7796|-78.6382|470|919
Greensboro|NC|27401|Guilford|37081|36.0726|-79.7920|300|336
Durham|NC|27701|Durham|37063|35.9940|-78.8986|285|919
Winston-Salem|NC|27101|Forsyth|37067|36.0999|-80.2442|250|336
Fayetteville|NC|28301|Cumberland|37051|35.0527|-78.8784|208|910
Wilmington|NC|28401|New Hanover|37129|34.2257|-77.9447|117|910
Asheville|NC|28801|Buncombe|37021|35.5951|-82.5515|94|828
Greenville|NC|27834|Pitt|37147|35.6127|-77.3664|89|252
Hickory|NC|28601|Catawba|37035|35.7332|-81.3412|43|828
Boone|NC|28607|Watauga|37189|36.2168|-81.6746|19|828
Elizabeth City|NC|27909|Pasquotank|37139|36.2946|-76.2511|18|252
Fargo|ND|58102|Cass|38017|46.8772|-96.7898|125|701
Bismarck|ND|58501|Burleigh|38015|46.8083|-100.7837|73|701
Grand Forks|ND|58201|Grand Forks|38035|47.9253|-97.0329|59|701
Minot|ND|58701|Ward|38101|48.2330|-101.2923|48|701
Williston|ND|58801|Williams|38105|48.1470|-103.6180|29|701
Dickinson|ND|58601|Stark|38089|46.8792|-102.7896|25|701
Columbus|OH|43215|Franklin|39049|39.9612|-82.9988|905|614
Cleveland|OH|44113|Cuyahoga|39035|41.4993|-81.6944|372|216
Cincinnati|OH|45202|Hamilton|39061|39.1031|-84.5120|309|513
Toledo|OH|43604|Lucas|39095|41.6528|-83.5379|270|419
Akron|OH|44308|Summit|39153|41.0814|-81.5190|190|330
Dayton|OH|45402|Montgomery|39113|39.7589|-84.1916|137|937
Canton|OH|44702|Stark|39151|40.7989|-81.3784|70|330
Youngstown|OH|44503|Mahoning|39099|41.0998|-80.6495|60|330
Mansfield|OH|44902|Richland|39139|40.7584|-82.5154|47|419
Lima|OH|45801|Allen|39003|40.7426|-84.1052|35|419
Zanesville|OH|43701|Muskingum|39119|39.9403|-82.0132|25|740
Athens|OH|45701|Athens|39009|39.3292|-82.1013|24|740
Portsmouth|OH|45662|Scioto|39145|38.7318|-82.9977|20|740
Oklahoma City|OK|73102|Oklahoma|40109|35.4676|-97.5164|680|405
Tulsa|OK|74103|Tulsa|40143|36.1540|-95.9928|410|918
Norman|OK|73069|Cleveland|40027|35.2226|-97.4395|128|405
Lawton|OK|73501|Comanche|40031|34.6036|-98.3959|91|580
Enid|OK|73701|Garfield|40047|36.3956|-97.8784|50|580
Muskogee|OK|74401|Muskogee|40101|35.7479|-95.3697|37|918
Ardmore|OK|73401|Carter|40019|34.1743|-97.1436|25|580
Guymon|OK|73942|Texas|40139|36.6828|-101.4816|12|580
Portland|OR|97204|Multnomah|41051|45.5152|-122.6784|650|503
Salem|OR|97301|Marion|41047|44.9429|-123.0351|175|503
Eugene|OR|97401|Lane|41039|44.0521|-123.0868|177|541
Bend|OR|97701|Deschutes|41017|44.0582|-121.3153|100|541
Medford|OR|97501|Jackson|41029|42.3265|-122.8756|85|541
Klamath Falls|OR|97601|Klamath|41035|42.2249|-121.7817|22|541
Pendleton|OR|97801|Umatilla|41059|45.6721|-118.7886|17|541
Coos Bay|OR|97420|Coos|41011|43.3665|-124.2179|16|541
Philadelphia|PA|19107|Philadelphia|42101|39.9526|-75.1652|1580|215
Pittsburgh|PA|15222|Allegheny|42003|40.4406|-79.9959|303|412
Allentown|PA|18101|Lehigh|42077|40.6023|-75.4714|125|610
Reading|PA|19601|Berks|42011|40.3356|-75.9269|95|610
Erie|PA|16501|Erie|42049|42.1292|-80.0851|95|814
Scranton|PA|18503|Lackawanna|42069|41.4090|-75.6624|76|570
Wilkes-Barre|PA|18701|Luzerne|42079|41.2459|-75.8813|44|570
Lancaster|PA|17602|Lancaster|42071|40.0379|-76.3055|58|717
Harrisburg|PA|17101|Dauphin|42043|40.2732|-76.8867|50|717
York|PA|17401|York|42133|39.9626|-76.7277|44|717
Altoona|PA|16601|Blair|42013|40.5187|-78.3947|43|814
State College|PA|16801|Centre|42027|40.7934|-77.8600|40|814
Williamsport|PA|17701|Lycoming|42081|41.2412|-77.0011|28|570
Coudersport|PA|16915|Potter|42105|41.7748|-78.0206|2|814
Providence|RI|02903|Providence|44007|41.8240|-71.4128|190|401
Warwick|RI|02886|Kent|44003|41.7001|-71.4162|82|401
Newport|RI|02840|Newport|44005|41.4901|-71.3128|25|401
Westerly|RI|02891|Washington|44009|41.3776|-71.8273|23|401
Columbia|SC|29201|Richland|45079|34.0007|-81.0348|137|803
Charleston|SC|29401|Charleston|45019|32.7765|-79.9311|150|843
Greenville|SC|29601|Greenville|45045|34.8526|-82.3940|70|864
Spartanburg|SC|29301|Spartanburg|45083|34.9496|-81.9320|38|864
Rock Hill|SC|29730|York|45091|34.9249|-81.0251|75|803
Myrtle Beach|SC|29577|Horry|45051|33.6891|-78.8867|35|843
Florence|SC|29501|Florence|45041|34.1954|-79.7626|39|843
Orangeburg|SC|29115|Orangeburg|45075|33.4918|-80.8556|13|803
Beaufort|SC|29902|Beaufort|45013|32.4316|-80.6698|13|843
Sioux Falls|SD|57104|Minnehaha|46099|43.5446|-96.7311|192|605
Rapid City|SD|57701|Pennington|46103|44.0805|-103.2310|75|605
Aberdeen|SD|57401|Brown|46013|45.4647|-98.4865|28|605
Brookings|SD|57006|Brookings|46011|44.3114|-96.7984|24|605
Pierre|SD|57501|Hughes|46065|44.3683|-100.3510|14|605
Pine Ridge|SD|57770|Oglala Lakota|46113|43.0255|-102.5563|3|605
Nashville|TN|37203|Davidson|47037|36.1627|-86.7816|690|615
Memphis|TN|38103|Shelby|47157|35.1495|-90.0490|630|901
Knoxville|TN|37902|Knox|47093|35.9606|-83.9207|190|865
Chattanooga|TN|37402|Hamilton|47065|35.0456|-85.3097|181|423
Clarksville|TN|37040|Montgomery|47125|36.5298|-87.3595|166|931
Murfreesboro|TN|37130|Rutherford|47149|35.8456|-86.3903|152|615
Jackson|TN|38301|Madison|47113|35.6145|-88.8139|68|731
Johnson City|TN|37604|Washington|47179|36.3134|-82.3535|71|423
Cookeville|TN|38501|Putnam|47141|36.1628|-85.5016|34|931
Houston|TX|77002|Harris|48201|29.7604|-95.3698|2300|713
San Antonio|TX|78205|Bexar|48029|29.4241|-98.4936|1430|210
Dallas|TX|75201|Dallas|48113|32.7767|-96.7970|1300|214
Austin|TX|78701|Travis|48453|30.2672|-97.7431|960|512
Fort Worth|TX|76102|Tarrant|48439|32.7555|-97.3308|920|817
El Paso|TX|79901|El Paso|48141|31.7619|-106.4850|680|915
Arlington|TX|76010|Tarrant|48439|32.7357|-97.1081|390|817
Corpus Christi|TX|78401|Nueces|48355|27.8006|-97.3964|317|361
Plano|TX|75074|Collin|48085|33.0198|-96.6989|285|972
The Woodlands|TX|77380|Montgomery|48339|30.1658|-95.4613|115|281
Laredo|TX|78040|Webb|48479|27.5306|-99.4803|256|956
Lubbock|TX|79401|Lubbock|48303|33.5779|-101.8552|258|806
Amarillo|TX|79101|Potter|48375|35.2220|-101.8313|200|806
Brownsville|TX|78520|Cameron|48061|25.9017|-97.4975|186|956
McAllen|TX|78501|Hidalgo|48215|26.2034|-98.2300|143|956
Waco|TX|76701|McLennan|48309|31.5493|-97.1467|138|254
Midland|TX|79701|Midland|48329|31.9973|-102.0779|132|432
Abilene|TX|79601|Taylor|48441|32.4487|-99.7331|125|325
Beaumont|TX|77701|Jefferson|48245|30.0802|-94.1266|115|409
Tyler|TX|75701|Smith|48423|32.3513|-95.3011|105|903
Wichita Falls|TX|76301|Wichita|48485|33.9137|-98.4934|102|940
San Angelo|TX|76903|Tom Green|48451|31.4638|-100.4370|99|325
Bryan|TX|77803|Brazos|48041|30.6744|-96.3700|85|979
Victoria|TX|77901|Victoria|48469|28.8053|-97.0036|65|361
Del Rio|TX|78840|Val Verde|48465|29.3709|-100.8959|35|830
Nacogdoches|TX|75961|Nacogdoches|48347|31.6035|-94.6555|33|936
Pecos|TX|79772|Reeves|48389|31.4229|-103.4932|12|432
Alpine|TX|79830|Brewster|48043|30.3585|-103.6610|6|432
Salt Lake City|UT|84101|Salt Lake|49035|40.7608|-111.8910|200|801
West Valley City|UT|84119|Salt Lake|49035|40.6916|-111.9930|140|801
Provo|UT|84601|Utah|49049|40.2338|-111.6585|115|801
Ogden|UT|84401|Weber|49057|41.2230|-111.9738|87|801
St. George|UT|84770|Washington|49053|37.0965|-113.5684|95|435
Logan|UT|84321|Cache|49005|41.7370|-111.8338|52|435
Price|UT|84501|Carbon|49007|39.5994|-110.8107|8|435
Moab|UT|84532|Grand|49019|38.5733|-109.5498|5|435
Burlington|VT|05401|Chittenden|50007|44.4759|-73.2121|45|802
Rutland|VT|05701|Rutland|50021|43.6106|-72.9726|15|802
Montpelier|VT|05602|Washington|50023|44.2601|-72.5754|8|802
Brattleboro|VT|05301|Windham|50025|42.8509|-72.5579|12|802
St. Johnsbury|VT|05819|Caledonia|50005|44.4192|-72.0151|7|802
Virginia Beach|VA|23451|Virginia Beach city|51810|36.8529|-75.9780|450|757
Chesapeake|VA|23320|Chesapeake city|51550|36.7682|-76.2875|250|757
Norfolk|VA|23510|Norfolk city|51710|36.8508|-76.2859|238|757
Richmond|VA|23219|Richmond city|51760|37.5407|-77.4360|226|804
Arlington|VA|22201|Arlington|51013|38.8816|-77.0910|235|703
Reston|VA|20190|Fairfax|51059|38.9586|-77.3570|60|703
Roanoke|VA|24011|Roanoke city|51770|37.2710|-79.9414|100|540
Lynchburg|VA|24504|Lynchburg city|51680|37.4138|-79.1422|79|434
Charlottesville|VA|22902|Charlottesville city|51540|38.0293|-78.4767|46|434
Harrisonburg|VA|22801|Harrisonburg city|51660|38.4496|-78.8689|51|540
Winchester|VA|22601|Winchester city|51840|39.1857|-78.1633|28|540
Danville|VA|24541|Danville city|51590|36.5860|-79.3950|42|434
Bristol|VA|24201|Bristol city|51520|36.5951|-82.1887|17|276
Wise|VA|24293|Wise|51195|36.9759|-82.5757|3|276
Seattle|WA|98101|King|53033|47.6062|-122.3321|740|206
Bellevue|WA|98004|King|53033|47.6101|-122.2015|150|425
Tacoma|WA|98402|Pierce|53053|47.2529|-122.4443|219|253
Everett|WA|98201|Snohomish|53061|47.9790|-122.2021|111|425
Spokane|WA|99201|Spokane|53063|47.6588|-117.4260|228|509
Vancouver|WA|98660|Clark|53011|45.6387|-122.6615|190|360
Olympia|WA|98501|Thurston|53067|47.0379|-122.9007|55|360
Bellingham|WA|98225|Whatcom|53073|48.7519|-122.4787|92|360
Yakima|WA|98901|Yakima|53077|46.6021|-120.5059|97|509
Kennewick|WA|99336|Benton|53005|46.2112|-119.1372|84|509
Wenatchee|WA|98801|Chelan|53007|47.4235|-120.3103|35|509
Walla Walla|WA|99362|Walla Walla|53071|46.0646|-118.3430|33|509
Port Angeles|WA|98362|Clallam|53009|48.1181|-123.4307|20|360
Charleston|WV|25301|Kanawha|54039|38.3498|-81.6326|47|304
Huntington|WV|25701|Cabell|54011|38.4192|-82.4452|46|304
Morgantown|WV|26505|Monongalia|54061|39.6295|-79.9559|30|304
Parkersburg|WV|26101|Wood|54107|39.2667|-81.5615|29|304
Wheeling|WV|26003|Ohio|54069|40.0640|-80.7209|27|304
Martinsburg|WV|25401|Berkeley|54003|39.4562|-77.9639|18|304
Beckley|WV|25801|Raleigh|54081|37.7782|-81.1882|17|304
Elkins|WV|26241|Randolph|54083|38.9262|-79.8467|7|304
Milwaukee|WI|53202|Milwaukee|55079|43.0389|-87.9065|577|414
Madison|WI|53703|Dane|55025|43.0731|-89.4012|270|608
Green Bay|WI|54301|Brown|55009|44.5133|-88.0133|107|920
Kenosha|WI|53140|Kenosha|55059|42.5847|-87.8212|99|262
Appleton|WI|54911|Outagamie|55087|44.2619|-88.4154|75|920
Eau Claire|WI|54701|Eau Claire|55035|44.8113|-91.4985|69|715
La Crosse|WI|54601|La Crosse|55063|43.8014|-91.2396|52|608
Wausau|WI|54403|Marathon|55073|44.9591|-89.6301|40|715
Superior|WI|54880|Douglas|55031|46.7208|-92.1041|27|715
Rhinelander|WI|54501|Oneida|55085|45.6366|-89.4121|8|715
Cheyenne|WY|82001|Laramie|56021|41.1400|-104.8202|65|307
Casper|WY|82601|Natrona|56025|42.8666|-106.3131|59|307
Laramie|WY|82070|Albany|56001|41.3114|-105.5911|32|307
Gillette|WY|82716|Campbell|56005|44.2911|-105.5022|33|307
Rock Springs|WY|82901|Sweetwater|56037|41.5875|-109.2029|23|307
Riverton|WY|82501|Fremont|56013|43.0250|-108.3801|11|307
Jackson|WY|83001|Teton|56039|43.4799|-110.7624|10|307
`;

function parsePlaces(data: string): UsPlace[] {
  const places: UsPlace[] = [];
  for (const raw of data.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const f = line.split('|');
    if (f.length !== 9) throw new Error(`us-places: malformed row "${line}"`);
    places.push({
      city: f[0],
      state: f[1],
      zip: f[2],
      county: f[3],
      countyFips: f[4],
      lat: Number(f[5]),
      lon: Number(f[6]),
      population: Number(f[7]),
      areaCode: f[8],
    });
  }
  return places;
}

/** All places, grouped by state in the order of the table. Frozen: shared by every generator run. */
export const US_PLACES: readonly UsPlace[] = Object.freeze(parsePlaces(PLACE_DATA));

const STATE_BY_CODE = new Map(US_STATES.map((s) => [s.code, s]));

export function stateByCode(code: string): UsState | undefined {
  return STATE_BY_CODE.get(code);
}
